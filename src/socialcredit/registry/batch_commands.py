"""``socialcredit batch list/show``: the batches received, from files and HTTP uploads."""

from __future__ import annotations

from typing import Annotated

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
    as_json: JsonOpt = False,
) -> None:
    """One batch: its counts and the records and events it wrote."""
    from socialcredit.registry.batches import get_batch

    with errors(as_json):
        b = get_batch(cli_registry(), batch_id, authority=None)
        if as_json:
            print_json(b)
            return
        for k, v in b.items():
            out.print(f"{k:>12}: {v}", highlight=False)
