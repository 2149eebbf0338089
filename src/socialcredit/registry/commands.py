"""Commands of the registry: authorities, ingest, a subject's file, the rule pack, the calendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape

from socialcredit.registry.batch_commands import batch_app  # noqa: E402
from socialcredit.registry.subject_lists import subject_find, subject_mismatches  # noqa: E402
from socialcredit.runtime.console import (
    JsonOpt,
    OnOpt,
    cli_registry,
    err,
    errors,
    file_progress_bar,
    out,
    parse_date,
    print_json,
    show_table,
)

authority_app = typer.Typer(no_args_is_help=True, help="Registered authorities (data providers).")
subject_app = typer.Typer(no_args_is_help=True, help="A subject's file.")
rules_app = typer.Typer(no_args_is_help=True, help="The rule pack in force.")
calendar_app = typer.Typer(no_args_is_help=True, help="The official working-day calendar.")


def register(app: typer.Typer) -> None:
    app.add_typer(authority_app, name="authority")
    app.command()(ingest)
    app.add_typer(subject_app, name="subject")
    app.add_typer(rules_app, name="rules")
    app.add_typer(calendar_app, name="calendar")
    app.add_typer(batch_app, name="batch")
    subject_app.command("find")(subject_find)
    subject_app.command("mismatches")(subject_mismatches)


@authority_app.command("add")
def authority_add(
    code: Annotated[str, typer.Argument(help="a short code, e.g. SPC-ZJ-HZ")],
    name: Annotated[str, typer.Option(help="full name")],
    kind: Annotated[str, typer.Option(help="court, tax, aviation, rail, police, ...")],
    category: Annotated[
        list[str] | None,
        typer.Option(help="allowed category (repeat); default: every category for the kind"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an authority and the record categories it may submit."""
    from socialcredit.domain.records import Authority
    from socialcredit.errors import Conflict, InvalidInput
    from socialcredit.registry.authorities import add_authority

    with errors(as_json):
        reg = cli_registry()
        cats = set(category or [])
        unknown = sorted(cats - set(reg.pack.categories))
        if unknown:
            raise InvalidInput.one("--category", "not in the rule pack", ", ".join(unknown))
        if not cats:
            cats = {c.id for c in reg.pack.categories.values() if kind in c.authority_kinds}
        if not cats:
            raise InvalidInput.one("--kind", "no category of the rule pack is for this kind", kind)
        with reg.uow() as uow:
            if uow.authorities.get(code) is not None:
                raise Conflict(f"authority {code} is already registered")
            add_authority(uow, Authority(code, name, kind, frozenset(cats)))
            uow.commit()
        if as_json:
            print_json({"code": code, "name": name, "kind": kind, "categories": sorted(cats)})
        else:
            out.print(f"registered {code} ({kind}) for {len(cats)} categories")


@authority_app.command("list")
def authority_list(as_json: JsonOpt = False) -> None:
    """The registered authorities."""
    with errors(as_json):
        reg = cli_registry()
        with reg.uow() as uow:
            rows = uow.authorities.list()
        if as_json:
            print_json(
                [
                    {
                        "code": a.code,
                        "name": a.name,
                        "kind": a.kind,
                        "categories": sorted(a.categories),
                    }
                    for a in rows
                ]
            )
            return
        show_table(
            ("code", "name", "kind", "categories"),
            [(a.code, escape(a.name), a.kind, str(len(a.categories))) for a in rows],
            wrap=("name",),
        )


def ingest(
    file: Annotated[Path, typer.Argument(help="a .jsonl, .csv or .parquet record file")],
    fmt: Annotated[
        Literal["jsonl", "csv", "parquet"] | None,
        typer.Option("--format", help="the file's format (default: from its extension)"),
    ] = None,
    all_or_nothing: Annotated[
        bool, typer.Option("--all-or-nothing", help="reject the whole batch on any bad line")
    ] = False,
    strict_names: Annotated[
        bool,
        typer.Option(
            "--strict-names",
            help="refuse a line whose name differs from the registry's name for its ID "
            "(default: accept it with a warning and flag it)",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate and commit a batch of records; bad lines are reported, good lines go in."""
    from socialcredit.errors import InvalidInput
    from socialcredit.registry.ingest import ingest_file

    with errors(as_json):
        if not file.is_file():
            raise InvalidInput.one("FILE", "no such file", str(file))
        reg = cli_registry()
        size = file.stat().st_size
        with file_progress_bar() as bar:
            task = bar.add_task("reading", total=size, lines=0, lines_total=None)

            seen = [0]

            def read(done: int, lines: int) -> None:
                seen[0] = lines
                bar.update(task, completed=done, lines=lines)

            def stage(what: str) -> None:
                # Once read, the steps report no share done: the bar pulses (no total) and
                # the lines column counts lines written out of those read.
                if what == "parsing":
                    bar.update(task, description=what, total=None, lines=0, lines_total=seen[0])
                else:
                    bar.update(task, description=what)

            def written(done: int) -> None:
                bar.update(task, lines=done)

            report = ingest_file(
                reg.uow(),
                file,
                pack=reg.pack,
                fmt=fmt,
                all_or_nothing=all_or_nothing,
                today=reg.today(),
                progress=written,
                read_progress=read,
                stage=stage,
                strict_names=strict_names,
            )
            bar.update(task, description="done", total=size, completed=size, lines=report.lines)
        _print_report(report, as_json)
        if report.rejected:
            raise typer.Exit(1)


def _print_report(report: Any, as_json: bool) -> None:
    problems = [
        {"line": p.line, "field": p.field, "value": p.value, "reason": p.reason}
        for p in report.rejected
    ]
    warnings = [
        {"line": p.line, "field": p.field, "value": p.value, "reason": p.reason}
        for p in report.warnings
    ]
    if as_json:
        print_json(
            {
                "batch_id": report.batch_id,
                "source": str(report.source),
                "lines": report.lines,
                "accepted": report.accepted,
                "duplicates": report.duplicates,
                "already_ingested": report.already_ingested,
                "rejected": problems,
                "warnings": warnings,
            }
        )
        return
    if report.already_ingested:
        out.print(f"{report.source}: already ingested as batch {report.batch_id}; nothing changed")
        return
    out.print(
        f"batch {report.batch_id}: {report.lines} lines, [green]{report.accepted} accepted[/], "
        f"{report.duplicates} duplicates, [red]{len(report.rejected)} rejected[/]"
    )
    for p in report.rejected[:50]:
        err.print(f"  - {p}", highlight=False)
    if len(report.rejected) > 50:
        err.print(f"  ... and {len(report.rejected) - 50} more (use --json for all)")
    if report.warnings:
        err.print(f"[yellow]{len(report.warnings)} warning(s)[/] (accepted lines):")
    for p in report.warnings[:50]:
        err.print(f"  - {p}", highlight=False)
    if len(report.warnings) > 50:
        err.print(f"  ... and {len(report.warnings) - 50} more (use --json for all)")


@subject_app.command("show")
def subject_show(
    subject_id: Annotated[str, typer.Argument(help="a resident ID or credit code")],
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A subject's whole file: records, events, listings and restrictions with reasons
    (a read of personal data: an audit entry, so a leaf of the transparency log)."""
    from socialcredit.integrity import audit
    from socialcredit.registry.subjects import subject_file

    with errors(as_json):
        reg = cli_registry()
        f = subject_file(reg, subject_id, parse_date(on))
        d = f.to_dict()
        audit.record(
            reg.engine, reg.now(), "operator:cli", "subject.read", subject_id=f.subject_id.value
        )
        if as_json:
            print_json(d)
            return
        s = d["subject"]
        out.print(
            f"[bold]{s['name'] or '(name not on file)'}[/] {s['id']} - {s['kind']}, "
            f"region {s['region_code']}"
            + (f", born {s['birth_date']} ({s['age']})" if s["birth_date"] else "")
            + f"  as of {d['as_of']}, rule pack {d['rulepack_version']}"
        )
        show_table(
            ("record", "category", "decided", "events"),
            [
                (
                    escape(f"{r['authority']}/{r['case_number']}")
                    + (" [yellow](name differs)[/]" if r.get("name_differs") else ""),
                    r["category"],
                    r["decision_date"],
                    "\n".join(f"{e['type']} {e['date']}" for e in r["events"]),
                )
                for r in d["records"]
            ],
            wrap=("events",),
            title="Records",
        )
        groups: dict[tuple[str, str, str, str, str], list[str]] = {}
        for x in d["restrictions"]:
            via = f" via {x['via']}" if x["via"] else ""
            key = (
                ", ".join(x["records"]) + via,
                x["status"],
                x["start"],
                x["end"] or x["until_condition"],
                x["effect"],
            )
            groups.setdefault(key, []).append(x["sector"])
        show_table(
            ("record", "status", "from", "until", "sectors"),
            [
                (
                    escape(rec),
                    status,
                    start,
                    escape(until or ""),
                    ", ".join(sorted(sectors)) + (" (benefit)" if effect == "benefit" else ""),
                )
                for (rec, status, start, until, effect), sectors in groups.items()
            ],
            wrap=("until", "sectors"),
            title="Restrictions and benefits",
        )
        for n in d["notes"]:
            out.print(f"[yellow]note:[/] {n}")


@rules_app.command("show")
def rules_show(as_json: JsonOpt = False) -> None:
    """The rule pack: categories with their terms, lists, and memoranda with their measures."""
    from socialcredit.rulepacks.render import rulepack_dict

    with errors(as_json):
        reg = cli_registry()
        d = rulepack_dict(reg.pack)
        if as_json:
            print_json(d)
            return
        out.print(f"[bold]{d['name']}[/] version {d['version']}, published {d['published']}")
        show_table(
            ("category", "list", "term", "starts", "authorities"),
            [
                (
                    c["id"],
                    c["list"],
                    escape(c["term_text"]),
                    escape(c["start"]),
                    ", ".join(c["authority_kinds"]),
                )
                for c in d["categories"]
            ],
            wrap=("term", "starts", "authorities"),
        )
        for m in d["memoranda"]:
            out.print(
                f"[bold]{m['id']}[/] {m['title']} ({m['reference']}) on {', '.join(m['lists'])}"
            )
            for x in m["measures"]:
                bind = " [binds legal representative]" if x["binds_legal_representative"] else ""
                out.print(f"  {x['effect']} {x['sector']}: {x['description']}{bind}")


@calendar_app.command("load")
def calendar_load(
    file: Annotated[Path, typer.Argument(help="YAML or JSON: {year, holidays, workdays}")],
    as_json: JsonOpt = False,
) -> None:
    """Load a newly announced year of the official calendar."""
    from socialcredit.registry.authorities import log_calendar
    from socialcredit.store.calendar import store_calendar
    from socialcredit.store.calendar_source import parse_calendar_file

    with errors(as_json):
        reg = cli_registry()
        cal = parse_calendar_file(file)
        years = store_calendar(reg.engine, cal, dt.datetime.now(dt.UTC), then=log_calendar)
        if as_json:
            print_json({"loaded_years": years, "source": cal.source})
        else:
            out.print(f"loaded official calendar for {', '.join(map(str, years))} from {file}")


@calendar_app.command("show")
def calendar_show(as_json: JsonOpt = False) -> None:
    """Which years the registry counts on the official calendar, and which as weekdays only."""
    with errors(as_json):
        reg = cli_registry()
        years = sorted(reg.calendar.known_years)
        d = {"source": reg.calendar.source, "known_years": years}
        if as_json:
            print_json(d)
        else:
            span = f"{years[0]}-{years[-1]}" if years else "none"
            out.print(
                f"official calendar ({d['source']}) for {span}; other years count weekdays only"
            )
