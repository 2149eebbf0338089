"""The transparency report as files: JSON, a CSV per table, each chart's SVG, and one
self-contained HTML page: a table of contents, the headline figures, the charts inline (drawn
server-side by ``charts``), every table with a relative link to its CSV, notes and definitions.

The page states its own content security policy (a ``<meta>``, so it holds for a file opened
from disk as well as for ``GET /v1/reports/{year}/html``): no script from anywhere, styles only
inline (the page's one static block and each chart's own), nothing fetched.
"""

from __future__ import annotations

import csv
import io
import json
from html import escape
from pathlib import Path
from typing import Any

from socialcredit.reports.charts import FONTS, Chart, charts
from socialcredit.reports.formats import cell, percent, thousands

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
STYLE = (
    f"body{{font-family:{FONTS};margin:2em auto;max-width:1100px;padding:0 1em;color:#222}}"
    ".cards{display:flex;flex-wrap:wrap;gap:.6em}.card{border:1px solid #ccc;padding:.6em;"
    "min-width:12em;border-radius:4px}.card .v{font-size:1.4em;font-weight:bold;"
    "white-space:nowrap}figure{margin:1.5em 0}figure svg{display:block;width:100%;"
    "max-width:880px;height:auto}table{border-collapse:collapse;font-size:12px;"
    "font-variant-numeric:tabular-nums}td,th{border:1px solid #ddd;padding:2px 6px;"
    "text-align:left;white-space:nowrap}.n{text-align:right}"
    "th{background:#f4f4f4}.scroll{overflow-x:auto}.csv{font-size:12px}pre{white-space:pre-wrap}"
    "nav ol ol{columns:2;font-size:.92em}nav li{break-inside:avoid}"
)


def to_csv(table: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table["columns"])
    w.writerows(["" if v is None else v for v in row] for row in table["rows"])
    return buf.getvalue()


def _html_table(name: str, table: dict[str, Any], href: str) -> str:
    cols, rows = table["columns"], table["rows"]
    # A column of numbers is right-aligned, header included; months, codes and names are not.
    align = [
        " class=n" if any(isinstance(r[i], int | float) for r in rows) or "(yuan)" in c else ""
        for i, c in enumerate(cols)
    ]
    head = "".join(f"<th{a}>{escape(str(c))}</th>" for c, a in zip(cols, align, strict=True))
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{a}>{escape(cell(c, v))}</td>" for c, a, v in zip(cols, align, r, strict=True)
        )
        + "</tr>"
        for r in rows
    )
    return (
        f'<section id="table-{escape(name)}"><h3>{escape(table["title"])}</h3>'
        f'<p class="csv">CSV: <a href="{escape(href)}">{escape(name)}.csv</a></p>'
        f"<div class=scroll><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        "</div></section>"
    )


def _headline(tot: dict[str, Any]) -> list[tuple[str, str]]:
    lst, pay, bl = tot["listings"], tot["paid_after_listing"], tot["blocked_purchases"]
    obj = tot["cases"]["objection"]

    def some(*vs: Any) -> str:
        return " / ".join(thousands(v) for v in vs)

    return [
        ("Flight purchases blocked", some(bl["flight"])),
        ("High-class rail purchases blocked", some(bl["rail.high_class"])),
        ("Rail purchases blocked (all)", some(bl["rail (all)"])),
        ("Records collected", some(tot["records_collected"])),
        ("New blacklist records", some(lst["new_blacklist_records"])),
        ("Subjects newly listed", some(lst["subjects_newly_listed"])),
        ("Subjects removed", some(lst["subjects_removed"])),
        ("Subjects who paid after listing", some(pay["subjects_who_paid"])),
        ("Amount paid after listing (yuan)", some(pay["amount_paid_yuan"])),
        ("Objections filed / upheld / rejected",
         some(obj["filed"], obj["upheld"], obj["rejected"])),
        ("Objections: median / 95th pct days to decide",
         some(obj["median_days_to_decide"], obj["p95_days_to_decide"])),
        ("Objections decided within the deadline", percent(obj["share_within_deadline"])),
        ("Notices sent / delivered", some(tot["notices"]["sent"], tot["notices"]["delivered"])),
    ]  # fmt: skip


def _log_html(log: dict[str, Any] | None) -> str:
    """The transparency log's signed heads: the period's last, and each month's."""
    if not log:
        return "<p>No transparency log heads in this report.</p>"

    def one(h: dict[str, Any] | None) -> str:
        if h is None:
            return "no signed head yet"
        return f"size {h['size']}, root <code>{escape(h['root'])}</code>, signed {h['signed_at']}"

    last = log.get("last_head")
    rows = "".join(
        f"<tr><th scope=row>{escape(m['month'])}</th><td>{one(m['head'])}</td></tr>"
        for m in log.get("monthly_heads", [])
    )
    note = "<pre>" + escape(last["checkpoint"]) + "</pre>" if last is not None else ""
    return (
        "<p>Every record, event, case, notice, staff action and read of personal data is a "
        "leaf of the registry's transparency log. The last signed tree head of the period: "
        f"{one(last)}. Check any leaf against it with an inclusion proof "
        "(<code>/v1/log/proof/inclusion</code>) and the key published at "
        f"<code>{escape(log.get('key', '/v1/log/key'))}</code>.</p>{note}"
        "<table><caption>The last signed head of each month</caption>"
        f"<thead><tr><th scope=col>month</th><th scope=col>head</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def to_html(
    report: dict[str, Any], csv_href: str = "{}.csv", figs: dict[str, Chart] | None = None
) -> str:
    """One self-contained page. ``csv_href`` makes a table's CSV link from its name, relative
    to the page: ``{}.csv`` for the files ``write_report`` puts beside it. ``figs``: the
    report's ``charts``, if the caller has drawn them already."""
    cards = "".join(
        f"<div class=card><div class=v>{escape(v)}</div><div>{escape(k)}</div></div>"
        for k, v in _headline(report["totals"])
    )
    figs = charts(report) if figs is None else figs
    tabs = report["tables"]
    svgs = "".join(f'<figure id="chart-{k}">{c.svg}</figure>' for k, c in figs.items())
    tables = "".join(_html_table(k, v, csv_href.format(k)) for k, v in tabs.items())
    toc_charts = "".join(
        f'<li><a href="#chart-{k}">{escape(c.title)}</a></li>' for k, c in figs.items()
    )
    toc_tables = "".join(
        f'<li><a href="#table-{k}">{escape(t["title"])}</a> '
        f'(<a href="{escape(csv_href.format(k))}">{escape(k)}.csv</a>)</li>'
        for k, t in tabs.items()
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in report["notes"])
    period = report["period"]
    y = report["year"]
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Transparency report {y}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>Transparency report {y}</h1>"
        f"<p>Period {period['from']} to {period['to']}"
        f"{'' if period['complete'] else ' (year in progress)'}, time zone "
        f"{escape(period['timezone'])}; rule pack {escape(report['rulepack_version'])}; "
        f"generated {escape(report['generated_at'])}. Aggregates only: no personal data. "
        "Every figure is recomputed from the registry's records, events and logs.</p></header>"
        '<nav aria-labelledby="contents"><h2 id="contents">Contents</h2><ol>'
        '<li><a href="#headline">Headline figures</a></li>'
        f'<li><a href="#charts">Charts</a><ol>{toc_charts}</ol></li>'
        f'<li><a href="#tables">Tables, each with its CSV</a><ol>{toc_tables}</ol></li>'
        '<li><a href="#log">Transparency log</a></li>'
        '<li><a href="#notes">Notes</a></li><li><a href="#definitions">Definitions</a></li>'
        "</ol></nav><main>"
        f'<h2 id="headline">Headline figures</h2><div class=cards>{cards}</div>'
        f'<h2 id="charts">Charts</h2>{svgs}<h2 id="tables">Tables</h2>{tables}'
        f'<h2 id="log">Transparency log</h2>{_log_html(report.get("transparency_log"))}'
        f'<h2 id="notes">Notes</h2><ul>{notes or "<li>none</li>"}</ul>'
        f'<h2 id="definitions">Definitions</h2><pre>{escape(report["definitions"])}</pre>'
        "</main></body></html>"
    )


def write_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write ``report-YEAR.json``, ``report-YEAR.html``, one CSV per table and each chart's SVG."""
    out_dir.mkdir(parents=True, exist_ok=True)
    y = report["year"]
    written = []
    p = out_dir / f"report-{y}.json"
    p.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), "utf-8")
    written.append(p)
    figs = charts(report)
    p = out_dir / f"report-{y}.html"
    p.write_text(to_html(report, figs=figs), "utf-8")
    written.append(p)
    for name, table in report["tables"].items():
        p = out_dir / f"{name}.csv"
        p.write_text(to_csv(table), "utf-8")
        written.append(p)
    for name, chart in figs.items():
        p = out_dir / f"chart-{name}.svg"
        p.write_text(chart.svg, "utf-8")
        written.append(p)
    return written
