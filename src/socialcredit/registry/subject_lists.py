"""Lists of subjects for staff: who is listed in a sector today (``subject find``), and whose
records name them otherwise than the registry does (``subject mismatches``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from socialcredit.runtime.console import (
    JsonOpt,
    OnOpt,
    cli_registry,
    err,
    errors,
    parse_date,
    print_json,
    require_sector,
    show_table,
)


def subject_mismatches(
    authority: Annotated[
        str | None, typer.Option("--authority", help="only this authority's records")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Records whose name differs from the registry's name for their ID (accepted at ingest
    with a warning): the clerk checks the ID or sends a corrected event."""
    from socialcredit.registry.subjects import name_mismatches

    with errors(as_json):
        rows = name_mismatches(cli_registry(), authority=authority)
        if as_json:
            print_json(rows)
            return
        show_table(
            ("record", "ID", "name on the record", "registry's name"),
            [
                (
                    escape(f"{r['authority']}/{r['case_number']}"),
                    r["subject_id"],
                    escape(r["record_name"]),
                    escape(r["registry_name"]),
                )
                for r in rows
            ],
            title="Name mismatches",
        )


# --- subject find ---------------------------------------------------------------------------
# Who is listed in a sector today (or about to be): for the README's point-of-sale example and
# for operators, read through the restriction engine (registry/find.py), never raw SQL.


def subject_find(
    sector: Annotated[str, typer.Option(help="a sector of the rule pack, e.g. flight")],
    listed: Annotated[
        bool, typer.Option("--listed", help="a deny in force today (the default)")
    ] = False,
    pending: Annotated[
        bool, typer.Option("--pending", help="a deny waiting for its publicity period to end")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="at most this many subjects")] = 20,
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Subjects denied SECTOR today (--listed) or pending (--pending), newest records first:
    name, ID, and when the restriction ends (or what ends it)."""
    from socialcredit.errors import InvalidInput
    from socialcredit.registry.find import find_subjects

    with errors(as_json):
        if listed and pending:
            raise InvalidInput.one("pending", "--listed or --pending, not both")
        reg = cli_registry()
        sector = require_sector(reg, sector)
        found = find_subjects(reg, sector=sector, pending=pending, on=parse_date(on), limit=limit)
        if as_json:
            print_json([f.to_dict() for f in found])
            return
        state = "pending" if pending else "listed"
        show_table(
            ("ID", "name", "from", "until", "reason"),
            [
                (
                    f.subject_id,
                    escape(f.name or ""),
                    f.start.isoformat(),
                    f.end.isoformat() if f.end else escape(f.until_condition or "open-ended"),
                    f.reason_code + (f" via {f.via}" if f.via else ""),
                )
                for f in found
            ],
            wrap=("name", "until"),
            title=f"Subjects {state} in {sector}",
        )
        if not found:
            err.print(f"no subject is {state} in {sector}")
