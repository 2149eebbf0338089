"""The transparency report as files: JSON, CSV per table, and one self-contained HTML page
whose charts are SVG drawn here, server-side (no script, no font or style from a network).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

PALETTE = ("#1f5f8b", "#d1495b", "#edae49", "#66a182", "#8d6a9f", "#00798c", "#6c757d", "#2e4057")


def _num(v: Any) -> float:
    try:
        return float(v or 0)
    except (TypeError, ValueError):
        return 0.0


def _nice(top: float) -> float:
    if top <= 0:
        return 1.0
    step = 10 ** len(str(int(top))) / 10
    for m in (1, 2, 2.5, 5, 10):
        if top <= step * m:
            return float(step * m)
    return top


def _fmt(v: float) -> str:
    if v >= 1e9:
        return f"{v / 1e9:g}G"
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    stacked: bool = False,
    width: int = 720,
    height: int = 300,
) -> str:
    """Grouped or stacked vertical bars, with a y axis, month labels and a legend."""
    left, right, top, bottom = 56, 12, 36, 48
    pw, ph = width - left - right, height - top - bottom
    n = max(len(labels), 1)
    if stacked:
        tops = [sum(_num(s[1][i]) for s in series) for i in range(len(labels))]
    else:
        tops = [_num(v) for _, vals in series for v in vals]
    ymax = _nice(max(tops, default=0))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="#fff"/>',
        f'<text x="{left}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for k in range(5):
        v = ymax * k / 4
        y = top + ph - ph * k / 4
        out.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(v)}</text>'
        )
    slot = pw / n
    groups = 1 if stacked else max(len(series), 1)
    bw = slot * 0.8 / groups
    for i, label in enumerate(labels):
        x0 = left + slot * i + slot * 0.1
        base = 0.0
        for j, (name, vals) in enumerate(series):
            v = _num(vals[i]) if i < len(vals) else 0.0
            h = ph * v / ymax
            x = x0 if stacked else x0 + bw * j
            y = top + ph - h - (ph * base / ymax if stacked else 0)
            colour = PALETTE[j % len(PALETTE)]
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bw - 1, 1):.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(name)} {escape(label)}: {v:g}</title></rect>'
            )
            if stacked:
                base += v
        out.append(
            f'<text x="{left + slot * (i + 0.5):.1f}" y="{top + ph + 14}" '
            f'text-anchor="middle">{escape(label[-2:] if len(labels) > 6 else label)}</text>'
        )
    lx = left
    for j, (name, _) in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        out.append(
            f'<rect x="{lx}" y="{height - 18}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{height - 9}">{escape(name)}</text>'
        )
        lx += 22 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)


def hbar_chart(title: str, items: Sequence[tuple[str, float]], width: int = 720) -> str:
    """Horizontal bars, one per item (largest first), with their values."""
    items = sorted(items, key=lambda x: -x[1])[:20]
    row, left, top = 18, 260, 30
    height = top + row * max(len(items), 1) + 10
    vmax = max((v for _, v in items), default=0) or 1
    pw = width - left - 70
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="#fff"/>',
        f'<text x="8" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, v) in enumerate(items):
        y = top + row * i
        w = pw * v / vmax
        out.append(
            f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 5}" fill="{PALETTE[0]}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 12}">{v:g}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _col(table: dict[str, Any], name: str) -> list[Any]:
    i = table["columns"].index(name)
    return [r[i] for r in table["rows"]]


def charts(report: dict[str, Any]) -> dict[str, str]:
    """The report's charts as SVG documents, by name."""
    t = report["tables"]
    months = _col(t["blocked_purchases"], "month")
    out: dict[str, str] = {}
    out["blocked"] = bar_chart(
        "Purchases blocked, by month",
        months,
        [(c, _col(t["blocked_purchases"], c)) for c in ("flight", "rail.high_class", "rail (all)")],
    )
    lst = t["listings"]
    out["listings"] = bar_chart(
        "Subjects newly listed and removed, by month",
        months,
        [(c, _col(lst, c)) for c in ("subjects newly listed", "subjects removed")],
    )
    reasons = [c for c in lst["columns"] if c.startswith("removed: ")]
    out["removals"] = bar_chart(
        "Removals by reason, by month",
        months,
        [(c.removeprefix("removed: "), _col(lst, c)) for c in reasons],
        stacked=True,
    )
    out["paid"] = bar_chart(
        "Debts and fines paid after listing (yuan), by month",
        months,
        [("amount paid", [_num(x) for x in _col(t["paid_after_listing"], "amount paid (yuan)")])],
    )
    out["records"] = hbar_chart(
        "Records collected, by category (top 20)",
        [(r[0], float(r[-1])) for r in t["records_by_category"]["rows"]],
    )
    cas = t["cases"]
    out["cases"] = bar_chart(
        "Objections filed, upheld and rejected, by month",
        months,
        [
            (c, _col(cas, c))
            for c in ("objections filed", "objections upheld", "objections rejected")
        ],
    )
    out["notices"] = bar_chart(
        "Notices sent and delivered, by month",
        months,
        [(c, _col(t["notices"], c)) for c in ("sent", "delivered", "failed")],
    )
    sd = t["score_distribution"]
    for prog in sorted({r[1] for r in sd["rows"]}):
        rows = [r for r in sd["rows"] if r[1] == prog]
        grades = list(dict.fromkeys(r[4] for r in rows))
        ms = list(dict.fromkeys(r[0] for r in rows))
        series = [(g, [next((r[5] for r in rows if r[0] == m and r[4] == g), 0) for m in ms])
                  for g in grades]  # fmt: skip
        out[f"scores_{prog}"] = bar_chart(
            f"Score grades of eligible residents at month end: {prog}", ms, series, stacked=True
        )
    return out


def to_csv(table: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table["columns"])
    w.writerows(["" if v is None else v for v in row] for row in table["rows"])
    return buf.getvalue()


def _html_table(name: str, table: dict[str, Any]) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in table["columns"])
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in table["rows"]
    )
    return (
        f'<section id="{escape(name)}"><h3>{escape(table["title"])}</h3>'
        f'<p class="csv">CSV: <code>{escape(name)}.csv</code></p>'
        f"<div class=scroll><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        "</div></section>"
    )


def to_html(report: dict[str, Any]) -> str:
    """One self-contained page: headline figures, charts (inline SVG), every table."""
    tot = report["totals"]
    lst, pay, bl = tot["listings"], tot["paid_after_listing"], tot["blocked_purchases"]
    obj = tot["cases"]["objection"]
    headline = [
        ("Flight purchases blocked", bl["flight"]),
        ("High-class rail purchases blocked", bl["rail.high_class"]),
        ("Rail purchases blocked (all)", bl["rail (all)"]),
        ("Records collected", tot["records_collected"]),
        ("New blacklist records", lst["new_blacklist_records"]),
        ("Subjects newly listed", lst["subjects_newly_listed"]),
        ("Subjects removed", lst["subjects_removed"]),
        ("Subjects who paid after listing", pay["subjects_who_paid"]),
        ("Amount paid after listing (yuan)", pay["amount_paid_yuan"]),
        ("Objections filed / upheld / rejected",
         f"{obj['filed']} / {obj['upheld']} / {obj['rejected']}"),
        ("Objections: median / 95th pct days to decide",
         f"{obj['median_days_to_decide']} / {obj['p95_days_to_decide']}"),
        ("Objections decided within the deadline", obj["share_within_deadline"]),
        ("Notices sent / delivered", f"{tot['notices']['sent']} / {tot['notices']['delivered']}"),
    ]  # fmt: skip
    cards = "".join(
        f"<div class=card><div class=v>{escape(str(v))}</div><div>{escape(k)}</div></div>"
        for k, v in headline
    )
    svgs = "".join(f'<figure id="chart-{k}">{v}</figure>' for k, v in charts(report).items())
    tables = "".join(_html_table(k, v) for k, v in report["tables"].items())
    notes = "".join(f"<li>{escape(n)}</li>" for n in report["notes"])
    period = report["period"]
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}"
        ".cards{display:flex;flex-wrap:wrap;gap:.6em}.card{border:1px solid #ccc;padding:.6em;"
        "min-width:12em;border-radius:4px}.card .v{font-size:1.4em;font-weight:bold}"
        "figure{margin:1em 0}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}th{background:#f4f4f4}"
        ".scroll{overflow-x:auto}.csv{color:#666;font-size:12px}pre{white-space:pre-wrap}"
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Transparency report {report['year']}</title><style>{style}</style></head><body>"
        f"<h1>Transparency report {report['year']}</h1>"
        f"<p>Period {period['from']} to {period['to']}"
        f"{'' if period['complete'] else ' (year in progress)'}, time zone "
        f"{escape(period['timezone'])}; rule pack {escape(report['rulepack_version'])}; "
        f"generated {escape(report['generated_at'])}. Aggregates only: no personal data. "
        "Every figure is recomputed from the registry's records, events and logs.</p>"
        f"<div class=cards>{cards}</div><h2>Charts</h2>{svgs}<h2>Tables</h2>{tables}"
        f"<h2>Notes</h2><ul>{notes or '<li>none</li>'}</ul>"
        f"<h2>Definitions</h2><pre>{escape(report['definitions'])}</pre></body></html>"
    )


def write_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write ``report-YEAR.json``, ``report-YEAR.html``, one CSV per table and each chart's SVG."""
    out_dir.mkdir(parents=True, exist_ok=True)
    y = report["year"]
    written = []
    p = out_dir / f"report-{y}.json"
    p.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), "utf-8")
    written.append(p)
    p = out_dir / f"report-{y}.html"
    p.write_text(to_html(report), "utf-8")
    written.append(p)
    for name, table in report["tables"].items():
        p = out_dir / f"{name}.csv"
        p.write_text(to_csv(table), "utf-8")
        written.append(p)
    for name, svg in charts(report).items():
        p = out_dir / f"chart-{name}.svg"
        p.write_text(svg, "utf-8")
        written.append(p)
    return written
