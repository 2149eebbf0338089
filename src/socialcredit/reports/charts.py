"""The report's charts, drawn by pygal as static SVG documents.

Static means: pygal's script (it always writes a ``<script>`` with its config, even with
``js=[]``), its empty tooltip box, its ``<desc>`` payloads for that script, its comments and
its per-legend ids are taken out (``_static``), so a page that inlines several charts has no
script and no duplicate id. A bar's value shows on hover through an SVG ``<title>`` instead.
Count axes get whole, round ticks (``nice_ticks``) and every number its thousands separators.
Text is drawn by the browser with a CJK-capable font first in the list (Debian's
fonts-noto-cjk; the others are what Windows and macOS have).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pygal
from pygal.style import Style

from socialcredit.reports.formats import nice_ticks, thousands

# pygal appends an import hook for its map plugins (``pygal.maps.*``, unused here) that has only
# the ``find_module`` API: on Python 3.11 every import that misses elsewhere then reaches it and
# raises ImportWarning ("find_spec() not found"), anywhere in the process.
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

FONTS = (
    "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', "
    "'Microsoft YaHei', sans-serif"
)
PALETTE = ("#1f5f8b", "#d1495b", "#edae49", "#66a182", "#8d6a9f", "#00798c", "#6c757d", "#2e4057")
STYLE = Style(
    font_family=FONTS,
    background="#fff",
    plot_background="#fff",
    foreground="#333",
    foreground_strong="#222",
    foreground_subtle="#ccc",
    colors=PALETTE,
    opacity="1",
    opacity_hover="1",
    title_font_size=16,
    label_font_size=12,
    value_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    guide_stroke_dasharray="0",
    major_guide_stroke_dasharray="0",
    guide_stroke_color="#e4e4e4",
    major_guide_stroke_color="#999",
    transition="0s",
)
WIDTH = 880
Series = Sequence[tuple[str, Sequence[Any]]]


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str


def _num(v: Any) -> float:
    try:
        return float(v or 0)
    except (TypeError, ValueError):
        return 0.0


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _static(title: str, names: Sequence[str]) -> Any:
    """A pygal ``xml_filter``: the chart without script, comments, tooltip box or inner ids,
    each bar titled ``series, label: value``, its own id (which scopes its CSS) made from its
    title instead of a random UUID, so the same report gives the same SVG."""

    def strip(root: Any) -> Any:
        old, new = root.get("id"), "chart-" + hashlib.sha256(title.encode()).hexdigest()[:12]
        root.set("id", new)
        for g in root.iter():
            serie = [c for c in g.get("class", "").split() if c.startswith("serie-")]
            for bar in g.iter() if serie else ():
                d = {x.get("class"): x for x in bar if _local(x.tag) == "desc"}
                if "value" in d and "x_label" in d:
                    name = names[int(serie[0].removeprefix("serie-"))]
                    label = f"{name}, {d['x_label'].text}" if name else d["x_label"].text
                    d["value"].tag = d["value"].tag.replace("desc", "title")
                    d["value"].text = f"{label}: {d['value'].text}"
                    del d["value"].attrib["class"]
        for parent in list(root.iter()):
            for child in list(parent):
                tag, cls = _local(child.tag), child.get("class", "").split()
                if tag in ("script", "desc", "") or "tooltip-overlay" in cls:
                    parent.remove(child)
                elif tag == "text" and cls == ["value"]:  # printed beside the bar's end
                    child.set("text-anchor", "start")
                    child.set("x", f"{float(child.get('x', 0)) + 4:.1f}")
                child.attrib.pop("id", None)
                if tag == "style" and old:
                    child.text = (child.text or "").replace(old, new)
        root.set("role", "img")
        return root

    return strip


def _chart(
    cls: Any, title: str, labels: Sequence[str], series: Series, *, stacked: bool = False
) -> str:
    values = [[None if v is None else _num(v) for v in vals] for _, vals in series]
    if stacked:
        tops = [sum(v[i] or 0 for v in values) for i in range(len(labels))]
    else:
        tops = [x for v in values for x in v if x is not None]
    ticks = nice_ticks(max(tops, default=0))
    horizontal = cls is pygal.HorizontalBar
    chart = cls(
        style=STYLE,
        width=WIDTH,
        height=(70 + 24 * len(labels)) if horizontal else 340,
        js=[],
        disable_xml_declaration=True,
        y_labels=ticks,
        value_formatter=thousands,
        show_legend=len(series) > 1,
        legend_at_bottom=True,
        legend_at_bottom_columns=min(len(series), 8),
        truncate_label=-1,
        truncate_legend=-1,
        print_values=horizontal,
        print_values_position="top",
        margin=12,
        margin_right=48 if horizontal else 12,
        spacing=8,
    )
    chart.add_xml_filter(_static(title, [n for n, _ in series]))
    chart.title = title
    chart.x_labels = list(labels)
    for (name, _), vals in zip(series, values, strict=True):
        chart.add(name, vals)
    svg: str = chart.render(is_unicode=True)
    return svg


def bar_chart(title: str, labels: Sequence[str], series: Series, *, stacked: bool = False) -> str:
    """Grouped (or stacked) vertical bars, one group per label, with a legend below."""
    return _chart(
        pygal.StackedBar if stacked else pygal.Bar, title, labels, series, stacked=stacked
    )


def hbar_chart(title: str, items: Sequence[tuple[str, float]]) -> str:
    """Horizontal bars, largest first (the top 20), each with its value."""
    items = sorted(items, key=lambda x: -x[1])[:20]
    return _chart(pygal.HorizontalBar, title, [k for k, _ in items][::-1],
                  [("", [v for _, v in items][::-1])])  # fmt: skip


def _col(table: dict[str, Any], name: str) -> list[Any]:
    i = table["columns"].index(name)
    return [r[i] for r in table["rows"]]


def charts(report: dict[str, Any]) -> dict[str, Chart]:
    """The report's charts by name (``blocked``, ``listings``, ..., ``scores_<programme>``)."""
    t = report["tables"]
    months = _col(t["blocked_purchases"], "month")
    lst, cas = t["listings"], t["cases"]
    reasons = [c for c in lst["columns"] if c.startswith("removed: ")]
    specs: dict[str, tuple[str, Series, bool]] = {
        "blocked": ("Purchases blocked, by month",
                    [(c, _col(t["blocked_purchases"], c))
                     for c in ("flight", "rail.high_class", "rail (all)")], False),
        "listings": ("Subjects newly listed and removed, by month",
                     [(c, _col(lst, c)) for c in ("subjects newly listed", "subjects removed")],
                     False),
        "removals": ("Removals by reason, by month",
                     [(c.removeprefix("removed: "), _col(lst, c)) for c in reasons], True),
        "paid": ("Debts and fines paid after listing (yuan), by month",
                 [("amount paid (yuan)", _col(t["paid_after_listing"], "amount paid (yuan)"))],
                 False),
    }  # fmt: skip
    out = {k: Chart(title, bar_chart(title, months, s, stacked=st))
           for k, (title, s, st) in specs.items()}  # fmt: skip
    title = "Records collected, by category (top 20)"
    rows = t["records_by_category"]["rows"]
    out["records"] = Chart(title, hbar_chart(title, [(r[0], float(r[-1])) for r in rows]))
    more: dict[str, tuple[str, Series]] = {
        "cases": ("Objections filed, upheld and rejected, by month",
                  [(c, _col(cas, c)) for c in
                   ("objections filed", "objections upheld", "objections rejected")]),
        "notices": ("Notices sent, delivered and failed, by month",
                    [(c, _col(t["notices"], c)) for c in ("sent", "delivered", "failed")]),
    }  # fmt: skip
    out |= {k: Chart(title, bar_chart(title, months, s)) for k, (title, s) in more.items()}
    sd = t["score_distribution"]
    for prog in sorted({r[1] for r in sd["rows"]}):
        rows = [r for r in sd["rows"] if r[1] == prog]
        grades = list(dict.fromkeys(r[4] for r in rows))
        ms = list(dict.fromkeys(r[0] for r in rows))
        count = {(r[0], r[4]): r[5] for r in rows}
        series = [(g, [count.get((m, g)) for m in ms]) for g in grades]
        title = f"Score grades of eligible residents at month end: {prog}"
        out[f"scores_{prog}"] = Chart(title, bar_chart(title, ms, series, stacked=True))
    return out
