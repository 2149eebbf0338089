"""``socialcredit check``: one subject's decision, asked exactly as a screening server asks.

The decision comes from a one-subject index compiled on the day and probed through
:meth:`Screener.verdict`, so the CLI cannot disagree with the servers; the reasons, for the
operator, from the engine's assessment it was compiled from.
"""

from __future__ import annotations

import datetime as dt

from socialcredit.domain.identity import parse_subject_id
from socialcredit.domain.restrictions import Decision, assess
from socialcredit.errors import InvalidInput
from socialcredit.registry import Feed, events_by_subject
from socialcredit.runtime.registry import Registry
from socialcredit.screening import (
    IndexHolder,
    Schema,
    ScreeningIndex,
    entry_for,
    subject_ref,
)
from socialcredit.screening.benefits import benefit_entry, benefit_schema
from socialcredit.screening.ids import FastId
from socialcredit.screening.names import NameTable
from socialcredit.screening.service import Screener


def check_decision(reg: Registry, raw_id: str, sector: str, day: dt.date) -> Decision:
    """``socialcredit check``: the decision comes from a one-subject index compiled on
    ``day`` and asked exactly as the server asks its index; the reasons (for the operator)
    from the engine's assessment it was compiled from."""
    if sector not in reg.pack.sectors:
        raise InvalidInput.one(
            "sector", f"not a sector of rule pack {reg.pack.version}; see `rules show`", sector
        )
    sid = parse_subject_id(raw_id, field="subject_id")
    with reg.engine.connect() as conn:
        events = events_by_subject(conn, [sid.value]).get(sid.value, [])
    a = assess(sid, events, reg.pack, day, reg.calendar)
    schema, bschema = Schema.from_pack(reg.pack), benefit_schema(reg.pack)
    deny, ben = entry_for(a, schema, sid), benefit_entry(a, bschema, sid)
    screener = Screener(
        reg.pack,
        IndexHolder(ScreeningIndex.from_entries(schema, [deny] if deny else [])),
        IndexHolder(ScreeningIndex.from_entries(bschema, [ben] if ben else [])),
        NameTable.build([]),
        Feed(),
        day,
    )
    fid = FastId(sid.value, sid.key, subject_ref(sid)[1])
    v, _ = screener.verdict(fid, schema.bit(sector), day)
    answer = screener.answer(sector, v, None, day)
    engine = a.decide(sector)
    if not v.deny:
        return Decision(sector, "allow", None, None, (), engine.benefits, reg.pack.version)
    return Decision(
        sector, "deny", v.until, answer.until_condition, engine.reasons, (), reg.pack.version
    )
