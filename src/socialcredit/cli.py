"""The ``socialcredit`` command: Typer + Rich. Every read command takes ``--json``.

Errors from the registry are printed as one clear message (what and where) with exit
status 2, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from socialcredit.errors import RegistryError
from socialcredit.settings import Settings, load_settings

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)
authority_app = typer.Typer(no_args_is_help=True, help="Registered authorities (data providers).")
subject_app = typer.Typer(no_args_is_help=True, help="A subject's file.")
rules_app = typer.Typer(no_args_is_help=True, help="The rule pack in force.")
calendar_app = typer.Typer(no_args_is_help=True, help="The official working-day calendar.")
app.add_typer(authority_app, name="authority")
app.add_typer(subject_app, name="subject")
app.add_typer(rules_app, name="rules")
app.add_typer(calendar_app, name="calendar")

out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]
OnOpt = Annotated[
    str | None, typer.Option("--on", help="as of this date (YYYY-MM-DD); default today")
]


def _settings() -> Settings:
    try:
        return load_settings()
    except ValueError as e:  # pydantic's ValidationError is a ValueError
        err.print(f"[red]configuration error:[/] {e}")
        raise typer.Exit(2) from None


@contextmanager
def _errors(as_json: bool = False) -> Iterator[None]:
    try:
        yield
    except RegistryError as e:
        if as_json:
            typer.echo(json.dumps(e.to_dict(), ensure_ascii=False))
        else:
            err.print(f"[red]error:[/] {e.message}", highlight=False)
            for p in e.problems[:50]:
                if str(p) not in e.message:
                    err.print(f"  - {p}", highlight=False)
            if len(e.problems) > 50:
                err.print(f"  ... and {len(e.problems) - 50} more")
        raise typer.Exit(2) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as e:
        if os.environ.get("SOCIALCREDIT_DEBUG"):
            raise
        err.print(
            f"[red]internal error:[/] {type(e).__name__}: {e} "
            "(set SOCIALCREDIT_DEBUG=1 for the traceback)",
            highlight=False,
        )
        raise typer.Exit(70) from None


def _date(raw: str | None, field: str = "--on") -> dt.date | None:
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        from socialcredit.errors import InvalidInput

        raise InvalidInput.one(field, "must be a date YYYY-MM-DD", raw) from None


def _registry(migrate: bool = False) -> Any:
    from socialcredit.services.registry import open_registry

    return open_registry(_settings(), migrate_schema=migrate)


def _print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


@app.command()
def init(as_json: JsonOpt = False) -> None:
    """Create or upgrade the database and register the reference authorities."""
    from socialcredit.store.seed import seed_reference_authorities

    with _errors(as_json):
        reg = _registry(migrate=True)
        with reg.uow() as uow:
            added = len(seed_reference_authorities(uow, reg.pack))
            uow.commit()
        info = {
            "database": reg.engine.url.render_as_string(hide_password=True),
            "rulepack_version": reg.pack.version,
            "authorities_added": added,
        }
        if as_json:
            _print_json(info)
        else:
            out.print(
                f"registry ready at [bold]{info['database']}[/] "
                f"(rule pack {reg.pack.version}; {added} authorities added)"
            )


@authority_app.command("add")
def authority_add(
    code: str,
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

    with _errors(as_json):
        reg = _registry()
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
            uow.authorities.add(Authority(code, name, kind, frozenset(cats)))
            uow.commit()
        if as_json:
            _print_json({"code": code, "name": name, "kind": kind, "categories": sorted(cats)})
        else:
            out.print(f"registered {code} ({kind}) for {len(cats)} categories")


@authority_app.command("list")
def authority_list(as_json: JsonOpt = False) -> None:
    """The registered authorities."""
    with _errors(as_json):
        reg = _registry()
        with reg.uow() as uow:
            rows = uow.authorities.list()
        if as_json:
            _print_json(
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
        t = Table("code", "name", "kind", "categories")
        for a in rows:
            t.add_row(a.code, a.name, a.kind, str(len(a.categories)))
        out.print(t)


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="a .jsonl, .csv or .parquet record file")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl, csv or parquet (default: extension)")
    ] = None,
    all_or_nothing: Annotated[
        bool, typer.Option("--all-or-nothing", help="reject the whole batch on any bad line")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate and commit a batch of records; bad lines are reported, good lines go in."""
    from socialcredit.errors import InvalidInput
    from socialcredit.services.ingest import ingest_file

    with _errors(as_json):
        reg = _registry()
        with _progress() as bar:
            task = bar.add_task(f"ingesting {file.name}", total=None)

            def progress(done: int) -> None:
                bar.update(task, completed=done)

            if not file.is_file():
                raise InvalidInput.one("FILE", "no such file", str(file))
            report = ingest_file(
                reg.uow(),
                file,
                pack=reg.pack,
                fmt=fmt,
                all_or_nothing=all_or_nothing,
                today=reg.today(),
                progress=progress,
            )
        _print_report(report, as_json)
        if report.rejected:
            raise typer.Exit(1)


def _print_report(report: Any, as_json: bool) -> None:
    problems = [
        {"line": p.line, "field": p.field, "value": p.value, "reason": p.reason}
        for p in report.rejected
    ]
    if as_json:
        _print_json(
            {
                "batch_id": report.batch_id,
                "source": str(report.source),
                "lines": report.lines,
                "accepted": report.accepted,
                "duplicates": report.duplicates,
                "already_ingested": report.already_ingested,
                "rejected": problems,
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


@app.command()
def generate(
    individuals: Annotated[int, typer.Option(min=0)] = 100_000,
    enterprises: Annotated[int, typer.Option(min=0)] = 5_000,
    seed: int = 2026,
    year: Annotated[
        int | None, typer.Option(help="the year of records (default: this year)")
    ] = None,
    scale: Annotated[
        float | None,
        typer.Option(help="records relative to the national rate (default: population share)"),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="also write subjects and records files (parquet) here"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Generate a synthetic population and a year of records, and load them into the registry."""
    from socialcredit.services.populate import populate

    with _errors(as_json):
        reg = _registry()
        with _progress() as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            summary = populate(
                reg,
                individuals=individuals,
                enterprises=enterprises,
                seed=seed,
                year=year,
                scale=scale,
                out_dir=out_dir,
                progress=progress,
            )
        if as_json:
            _print_json(summary)
        else:
            out.print(
                f"{summary['subjects_added']} subjects and {summary['records_accepted']} record "
                f"events loaded ({summary['rejected']} rejected) in {summary['seconds']:.1f}s"
            )


@subject_app.command("show")
def subject_show(subject_id: str, on: OnOpt = None, as_json: JsonOpt = False) -> None:
    """A subject's whole file: records, events, listings and restrictions with reasons."""
    from socialcredit.services.subjects import subject_file

    with _errors(as_json):
        reg = _registry()
        f = subject_file(reg, subject_id, _date(on))
        d = f.to_dict()
        if as_json:
            _print_json(d)
            return
        s = d["subject"]
        out.print(
            f"[bold]{s['name'] or '(name not on file)'}[/] {s['id']} - {s['kind']}, "
            f"region {s['region_code']}"
            + (f", born {s['birth_date']} ({s['age']})" if s["birth_date"] else "")
            + f"  as of {d['as_of']}, rule pack {d['rulepack_version']}"
        )
        t = Table("record", "category", "decided", "events", title="Records")
        for r in d["records"]:
            t.add_row(
                f"{r['authority']}/{r['case_number']}",
                r["category"],
                r["decision_date"],
                ", ".join(f"{e['type']} {e['date']}" for e in r["events"]),
            )
        out.print(t)
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
        t = Table(title="Restrictions and benefits")
        for col in ("record", "status", "from", "until", "sectors"):
            t.add_column(col, overflow="fold")
        for (rec, status, start, until, effect), sectors in groups.items():
            label = ", ".join(sorted(sectors)) + (" (benefit)" if effect == "benefit" else "")
            t.add_row(rec, status, start, until, label)
        out.print(t)
        for n in d["notes"]:
            out.print(f"[yellow]note:[/] {n}")


@app.command()
def check(
    subject_id: str,
    sector: Annotated[str, typer.Option(help="e.g. flight, rail.high_class")],
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """May this subject buy or do this, in this sector, now (or on --on)?"""
    from socialcredit.services.screening import check_decision
    from socialcredit.services.subjects import decision_dict

    with _errors(as_json):
        reg = _registry()
        day = _date(on) or reg.today()
        # the screening index's code path, as the server answers (reasons from the engine)
        d = decision_dict(
            check_decision(reg, subject_id, sector, day), subject_id.strip().upper(), day
        )
        if as_json:
            _print_json(d)
            return
        colour = "green" if d["decision"] == "allow" else "red"
        until = f"until {d['until']}" if d["until"] else d["until_condition"]
        out.print(
            f"[{colour} bold]{d['decision'].upper()}[/] {sector} for {d['subject_id']} on {day}"
            + (f" {until}" if d["decision"] == "deny" else ""),
            highlight=False,
        )
        for r in d["reasons"]:
            out.print(f"  because {r['explanation']}", highlight=False)


@rules_app.command("show")
def rules_show(as_json: JsonOpt = False) -> None:
    """The rule pack: categories with their terms, lists, and memoranda with their measures."""
    from socialcredit.rulepacks.render import rulepack_dict

    with _errors(as_json):
        reg = _registry()
        d = rulepack_dict(reg.pack)
        if as_json:
            _print_json(d)
            return
        out.print(f"[bold]{d['name']}[/] version {d['version']}, published {d['published']}")
        t = Table("category", "list", "term", "starts", "authorities")
        for c in d["categories"]:
            t.add_row(
                c["id"], c["list"], c["term_text"], c["start"], ", ".join(c["authority_kinds"])
            )
        out.print(t)
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
    from socialcredit.calendar_source import parse_calendar_file
    from socialcredit.store.calendar import store_calendar

    with _errors(as_json):
        reg = _registry()
        cal = parse_calendar_file(file)
        years = store_calendar(reg.engine, cal, dt.datetime.now(dt.UTC))
        if as_json:
            _print_json({"loaded_years": years, "source": cal.source})
        else:
            out.print(f"loaded official calendar for {', '.join(map(str, years))} from {file}")


@calendar_app.command("show")
def calendar_show(as_json: JsonOpt = False) -> None:
    """Which years the registry counts on the official calendar, and which as weekdays only."""
    with _errors(as_json):
        reg = _registry()
        years = sorted(reg.calendar.known_years)
        d = {"source": reg.calendar.source, "known_years": years}
        if as_json:
            _print_json(d)
        else:
            span = f"{years[0]}-{years[-1]}" if years else "none"
            out.print(
                f"official calendar ({d['source']}) for {span}; other years count weekdays only"
            )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default from settings (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="default from settings (8000)")] = None,
    demo_keys: Annotated[
        bool, typer.Option("--demo-keys", help="(re)issue and print demo relying-party keys")
    ] = False,
    loop: Annotated[str, typer.Option(help="event loop: auto (uvloop), uvloop, asyncio")] = "auto",
    http: Annotated[
        str, typer.Option(help="HTTP parser: auto (httptools), httptools, h11")
    ] = "auto",
) -> None:
    """Start the HTTP service (FastAPI + uvicorn on uvloop and httptools)."""
    import uvicorn

    from socialcredit.web.app import create_app
    from socialcredit.web.server import tune_interpreter, uvicorn_options

    try:
        options = uvicorn_options(loop, http)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    with _errors():
        reg = _registry(migrate=True)
        if not reg.settings.operator_token:
            reg.settings.operator_token = secrets.token_urlsafe(24)
            out.print(f"operator token (this run only): [bold]{reg.settings.operator_token}[/]")
        if demo_keys:
            from socialcredit.services.screening_parties import ensure_demo_parties

            for k in ensure_demo_parties(reg):
                typer.echo(f"demo relying party {k.party}: API key {k.key}")  # no wrapping
        h = host or reg.settings.host
        p = port or reg.settings.port
        out.print(
            f"serving on http://{h}:{p}  (API docs: http://{h}:{p}/docs)  "
            f"({options['loop']} + {options['http']})"
        )
        tune_interpreter()
        app = create_app(reg)
        app.state.freeze_heap = True  # once started: see web/server.py
        uvicorn.run(app, host=h, port=p, **options)


# Commands of each capability live in their own module, which exposes
# ``register(app: typer.Typer) -> None`` adding its commands or groups; this module stays the
# only entry point. Modules may reuse the helpers above (_errors, _registry, _print_json, ...).
COMMAND_MODULES: tuple[str, ...] = (
    "socialcredit.cli_dueprocess",
    "socialcredit.cli_scoring",
    "socialcredit.cli_screening",
    "socialcredit.accounts.commands",  # user add/list/disable/reset (issue 11)
)


def _add_groups() -> None:
    import importlib

    for modname in COMMAND_MODULES:
        importlib.import_module(modname).register(app)


def main() -> None:
    _add_groups()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


_: Callable[..., Any] = main
