"""Commands of the transparency report.

socialcredit report --year 2026 [--out DIR] [--json]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from socialcredit.runtime.console import JsonOpt, cli_registry, errors, out, print_json


def register(app: typer.Typer) -> None:
    app.command()(report)


def report(
    year: Annotated[int, typer.Option("--year", help="the calendar year to report on")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="write JSON, HTML, CSV and SVG files here")
    ] = None,
    publish: Annotated[
        bool, typer.Option("--publish", help="publish it: the server serves this version")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The transparency report for a year: blocked purchases, records, listings, removals,
    payments, objections, notices and score distributions, monthly, from the raw events."""
    from socialcredit.reports.figures import build_report
    from socialcredit.reports.render import write_report

    with errors(as_json):
        reg = cli_registry()
        rep = build_report(reg, year)
        if publish:  # computed here, off the server; it serves the files
            from socialcredit.reports.publication import publish as publish_report

            where = publish_report(reg, year, rep)
            if not as_json:
                out.print(f"published {where}")
        files = write_report(rep, out_dir) if out_dir is not None else []
        if as_json:
            print_json(rep)
            return
        tot = rep["totals"]
        t = Table("figure", "value", title=f"Transparency report {year} ({rep['period']['to']})")
        bl, lst = tot["blocked_purchases"], tot["listings"]
        for k, v in (
            ("flight purchases blocked", bl["flight"]),
            ("rail high-class purchases blocked", bl["rail.high_class"]),
            ("rail purchases blocked (all)", bl["rail (all)"]),
            ("records collected", tot["records_collected"]),
            ("new blacklist records", lst["new_blacklist_records"]),
            ("subjects newly listed", lst["subjects_newly_listed"]),
            ("subjects removed", lst["subjects_removed"]),
            *((f"  removed: {r}", n) for r, n in lst["removals_by_reason"].items()),
            ("subjects who paid after listing", tot["paid_after_listing"]["subjects_who_paid"]),
            ("amount paid after listing (yuan)", tot["paid_after_listing"]["amount_paid_yuan"]),
            *(
                (f"{k}s filed/upheld/rejected", f"{c['filed']}/{c['upheld']}/{c['rejected']}")
                for k, c in tot["cases"].items()
            ),
            ("notices sent/delivered", f"{tot['notices']['sent']}/{tot['notices']['delivered']}"),
        ):
            t.add_row(k, str(v))
        out.print(t)
        for prog, d in tot["scores"].items():
            if isinstance(d, dict):
                grades = "  ".join(  # None: a small count withheld (see the notes)
                    f"{g} {'withheld' if n is None else f'{n:,}'}"
                    for g, n in d["distribution"].items()
                )
                out.print(f"scores {prog}: {d['eligible']:,} eligible; {grades}", highlight=False)
        for n in rep["notes"]:
            out.print(f"[yellow]note:[/] {n}")
        if files:
            out.print(f"wrote {len(files)} files to {out_dir} (open report-{year}.html)")
