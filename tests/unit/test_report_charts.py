"""The report's charts as SVG documents, read as XML (no browser: tests/e2e/
test_report_browser.py looks at the page in Chromium)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from socialcredit.reports.charts import bar_chart, hbar_chart

SVG = "{http://www.w3.org/2000/svg}"


def _svg(doc: str) -> ET.Element:
    return ET.fromstring(doc)


def _axis_labels(root: ET.Element, axis: str) -> list[str]:
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class", "").split()[:2] == ["axis", axis]]
    return [t.text or "" for g in groups for t in g.iter(f"{SVG}text")]


def test_a_bar_chart_is_static_svg_with_round_count_ticks() -> None:
    months = ["2025-01", "2025-02", "2025-03"]
    doc = bar_chart("Blocked", months, [("flight", [2, 1, 0]), ("rail", [0, None, 3])])
    root = _svg(doc)
    assert "<script" not in doc and "<!--" not in doc and "style=" not in doc
    assert [e.get("id") for e in root.iter() if e.get("id")] == [root.get("id")]
    assert _axis_labels(root, "y") == ["0", "1", "2", "3"]
    assert _axis_labels(root, "x") == months
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert titles[0] == "Blocked" and "rail, 2025-03: 3" in titles
    assert doc == bar_chart("Blocked", months, [("flight", [2, 1, 0]), ("rail", [0, None, 3])])


def test_large_counts_and_amounts_have_separators_on_axes_and_bars() -> None:
    root = _svg(bar_chart("Paid (yuan)", ["2025-01"], [("paid", ["237983864.11"])]))
    assert _axis_labels(root, "y") == [f"{v:,}" for v in range(0, 250_000_001, 50_000_000)]
    assert "paid, 2025-01: 237,983,864.11" in [t.text for t in root.iter(f"{SVG}title")]
    root = _svg(hbar_chart("Records", [("court.defaulter.refuses", 1_882_100.0), ("b", 5.0)]))
    assert "1,882,100" in [t.text for t in root.iter(f"{SVG}text")]
    assert _axis_labels(root, "y") == ["b", "court.defaulter.refuses"]  # the largest on top
    assert _axis_labels(root, "x") == ["0", "500,000", "1,000,000", "1,500,000", "2,000,000"]


def test_an_empty_chart_counts_zero_to_one() -> None:
    root = _svg(bar_chart("Notices", ["2025-01"], [("sent", [0]), ("failed", [0])]))
    assert _axis_labels(root, "y") == ["0", "1"]
