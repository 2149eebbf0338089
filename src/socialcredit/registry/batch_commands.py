"""``socialcredit batch list/show``: the batches received, from files and HTTP uploads."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from socialcredit.runtime.console import (
    JsonOpt,
    cli_registry,
    errors,
    out,
    print_json,
    show_table,
)

batch_app = typer.Typer(no_args_is_help=True, help="Batches received (files and HTTP uploads).")


@batch_app.command("list")
def batch_list(
    authority: Annotated[
        str | None, typer.Option(help="only this authority's batches (HTTP uploads and records)")
    ] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Batches received, newest first: lines, accepted, duplicates, rejected lines."""
    from socialcredit.registry.batches import list_batches

    with errors(as_json):
        rows = list_batches(cli_registry(), authority=authority, limit=limit)
        if as_json:
            print_json(rows)
            return
        show_table(
            ("id", "source", "received (UTC)", "lines", "accepted", "dup", "rejected"),
            [
                (
                    str(b["id"]),
                    b["source"],
                    b["received_at"][:19],
                    str(b["lines"]),
                    str(b["accepted"]),
                    str(b["duplicates"]),
                    str(b["rejected"]),
                )
                for b in rows
            ],
            wrap=("source",),
        )


@batch_app.command("show")
def batch_show(
    batch_id: Annotated[int, typer.Argument(help="the batch's id (`batch list`)")],
    problems: Annotated[
        int, typer.Option(help="show at most this many problems (--json: every kept one)")
    ] = 100,
    as_json: JsonOpt = False,
) -> None:
    """One batch: its counts, the records and events it wrote, and its per-line problems as
    kept (the first 10,000 of each kind)."""
    from socialcredit.registry.batches import get_batch

    with errors(as_json):
        b = get_batch(cli_registry(), batch_id, authority=None)
        if as_json:
            print_json(b)
            return
        kept = b.pop("problems")
        for k, v in b.items():
            out.print(f"{k:>12}: {v}", highlight=False)
        _show_problems(kept, problems)


def _show_problems(kept: dict[str, Any], limit: int) -> None:
    from rich.markup import escape  # a value is the file's text: never markup

    total = kept["rejected_total"]
    if total is None:
        out.print("    problems: not kept (received before they were)", highlight=False)
        return
    rows = kept["rejected"]
    note = f", the first {len(rows)} kept" if total > len(rows) else ""
    out.print(f"    problems: {total}{note}; warnings: {kept['warnings_total']}", highlight=False)
    if rows and limit > 0:
        show_table(
            ("line", "field", "problem", "value"),
            [
                tuple(
                    escape(str(v))
                    for v in (p["line"] or "", p["field"], p["reason"], p["value"] or "")
                )
                for p in rows[:limit]
            ],
            wrap=("problem", "value"),
        )
        if len(rows) > limit:
            out.print(f"({len(rows) - limit} more: --problems N or --json)", highlight=False)
