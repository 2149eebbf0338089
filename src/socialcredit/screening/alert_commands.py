"""``socialcredit alerts``: the operator's alerts from the screening servers."""

from __future__ import annotations

from typing import Annotated

import typer

from socialcredit.runtime.console import JsonOpt, cli_registry, errors, out, print_json


def register(app: typer.Typer) -> None:
    app.command()(alerts)


def alerts(
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Alerts raised by the screening servers (e.g. a party's name refusals spiking)."""
    from socialcredit.screening.alerts import list_alerts

    with errors(as_json):
        rows = list_alerts(cli_registry(), limit=limit)
        if as_json:
            print_json(rows)
            return
        if not rows:
            out.print("no alerts")
        for a in rows:
            out.print(f"{a['at']}  {a['kind']}  {a['relying_party'] or '-'}  {a['detail']}")
