"""Commands of the scoring pilots.

socialcredit scores programmes | show ID | recompute | switch PROGRAMME --off --reason ...
socialcredit scores residence ID --region 371082 --since 2015-03-01 | follow [--watch]
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Any

import typer

from socialcredit.runtime.console import (
    JsonOpt,
    OnOpt,
    cli_registry,
    errors,
    out,
    parse_date,
    print_json,
    require_known_subject,
    show_table,
)

scores_app = typer.Typer(no_args_is_help=True, help="Regional scoring pilots (switchable off).")


@scores_app.command("programmes")
def scores_programmes(as_json: JsonOpt = False) -> None:
    """The scoring programmes and whether each is in force."""
    from socialcredit.scoring.service import programmes

    with errors(as_json):
        rows = programmes(cli_registry())
        if as_json:
            print_json(rows)
            return
        show_table(
            ("id", "region", "in force", "grades"),
            [
                (
                    p["id"],
                    f"{p['region_prefix']} {p['region_name']}",
                    "yes" if p["in_force"] else "no",
                    " ".join(p["grades"]),
                )  # fmt: skip
                for p in rows
            ],
            wrap=("region", "grades"),
        )


@scores_app.command("show")
def scores_show(
    subject_id: Annotated[str, typer.Argument(help="a resident ID")],
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A subject's score, explained, with what would raise it and its history."""
    from socialcredit.scoring.service import subject_scores

    with errors(as_json):
        reg = cli_registry()
        rows = subject_scores(reg, subject_id, parse_date(on) or reg.today())
        if not rows:
            require_known_subject(reg, subject_id)
        if as_json:
            print_json(rows)
            return
        if not rows:
            out.print(
                "not scored: no programme in force where they live, or not eligible "
                "(`scores residence` records where someone lives)"
            )
        for s in rows:
            out.print(f"[bold]{s['programme_name']}[/] as of {s['as_of']}: "
                      f"score {s['score']}, grade {s['grade']}")  # fmt: skip
            for line in s["explanation"]:
                out.print(f"  {line}", highlight=False)
            hist = ", ".join(f"{h['as_of']} {h['score']} {h['grade']}" for h in s["history"])
            out.print(f"  history: {hist or 'none recorded'}")


@scores_app.command("recompute")
def scores_recompute(
    on: OnOpt = None,
    programme: Annotated[str | None, typer.Option(help="one programme only")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute every resident of each programme in force, in bulk, and keep history."""
    from socialcredit.scoring.service import recompute

    with errors(as_json):
        reg = cli_registry()
        rows = recompute(reg, parse_date(on) or reg.today(), programme)
        if as_json:
            print_json(rows)
            return
        if not rows:
            out.print("no scoring programme in force")
            return
        show_table(
            ("programme", "as of", "residents", "eligible", "changes", "grades"),
            [
                (
                    r["programme"],
                    r["as_of"],
                    f"{r['residents']:,}",
                    f"{r['eligible']:,}",
                    f"{r['history_rows_written']:,}",
                    "  ".join(f"{g} {n:,}" for g, n in r["distribution"].items()),
                )
                for r in rows
            ],
            wrap=("grades",),
        )


@scores_app.command("switch")
def scores_switch(
    programme: Annotated[str, typer.Argument(help="a programme id, or * for all")],
    on: Annotated[bool, typer.Option("--on/--off", help="switch on or off")],
    reason: Annotated[str, typer.Option(help="why (kept on record)")],
    as_json: JsonOpt = False,
) -> None:
    """Switch a programme on or off for its jurisdiction; off deletes every score it made."""
    from socialcredit.scoring.service import set_switch

    with errors(as_json):
        d = set_switch(cli_registry(), programme, on, reason)
        if as_json:
            print_json(d)
        else:
            out.print(f"{programme} switched {d['switched']}; {d['scores_removed']} scores "
                      f"removed; in force: {', '.join(d['in_force']) or 'none'}")  # fmt: skip


@scores_app.command("residence")
def scores_residence(
    subject_id: Annotated[str, typer.Argument(help="a resident ID")],
    region: Annotated[str, typer.Option(help="6-digit GB/T 2260 code where they live")],
    since: Annotated[str | None, typer.Option(help="resident since (YYYY-MM-DD)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record where a person lives and since when, then rescore them."""
    from socialcredit.scoring.service import rescore_subject, set_residence

    with errors(as_json):
        reg = cli_registry()
        d: dict[str, Any] = set_residence(reg, subject_id, region, parse_date(since, "--since"))
        d["score"] = rescore_subject(reg, subject_id, reg.today())
        if as_json:
            print_json(d)
        else:
            out.print(f"{d['subject_id']} lives in {region} since {d['resident_since']}; "
                      f"score: {d['score']}")  # fmt: skip


@scores_app.command("follow")
def scores_follow(
    on: OnOpt = None,
    keep_watching: Annotated[
        bool, typer.Option("--watch", help="keep following until interrupted (Ctrl-C)")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.1, help="seconds between polls when idle (--watch)")
    ] = 2.0,
    as_json: JsonOpt = False,
) -> None:
    """Rescore the residents whose records, events or residence changed since the last run."""
    from socialcredit.scoring.follow import follow_changes, watch

    def show(d: dict[str, Any]) -> None:
        if as_json:
            print_json(d)
        else:
            out.print(f"{d['changes']} subjects changed, {d['rescored']} residents rescored, "
                      f"{d['changed']} scores moved")  # fmt: skip

    with errors(as_json):
        reg = cli_registry()
        day = parse_date(on)
        if not keep_watching:
            show(follow_changes(reg, day or reg.today()))
            return
        # Ctrl-C (or SIGTERM) ends the watch after the round in progress; a second Ctrl-C
        # interrupts at once.
        stop = threading.Event()

        def ask_to_stop(signum: int, frame: object) -> None:
            if stop.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt
            stop.set()

        old = {s: signal.signal(s, ask_to_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            watch(reg, lambda: day or reg.today(), interval=interval, report=show, stop=stop)
        except KeyboardInterrupt:
            return
        finally:
            for s, h in old.items():
                signal.signal(s, h)


def register(app: typer.Typer) -> None:
    app.add_typer(scores_app, name="scores")
