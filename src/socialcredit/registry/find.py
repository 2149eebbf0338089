"""Finding subjects by what the rules do to them today: who is denied a sector now, or will be
when a publicity period ends. For operators and the README's examples, never for relying
parties (who may not enumerate the lists).

Every answer comes from the restriction engine, as a subject's file does: the candidates are
the subjects of records in categories whose list a memorandum denies the sector to (and the
legal representatives those records name), newest decisions first; each candidate's events
are replayed and assessed, and only a restriction the engine says is in force (or pending) is
reported. A record that was fulfilled, withdrawn, repaired or has run its term is not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select, union_all

from socialcredit.domain.identity import parse_subject_id
from socialcredit.domain.restrictions import Status, assess
from socialcredit.domain.rules import Effect
from socialcredit.errors import InvalidInput
from socialcredit.registry.feed import events_by_subject, subject_names
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t

CHUNK = 200  # candidates assessed per read of the store


@dataclass(frozen=True)
class Found:
    subject_id: str
    kind: str
    name: str | None
    sector: str
    status: str  # active | pending
    start: dt.date
    end: dt.date | None  # None: open-ended, see until_condition
    until_condition: str | None
    reason_code: str
    via: str | None  # the enterprise whose listing binds this legal representative

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["end"] = None if self.end is None else self.end.isoformat()
        return d


def deny_categories(reg: Registry, sector: str) -> list[str]:
    """The categories whose listing some memorandum answers with a deny in ``sector``."""
    lists = {
        lst
        for m in reg.pack.memoranda
        for x in m.measures
        if x.sector == sector and x.effect is Effect.DENY
        for lst in m.lists
    }
    return sorted(c.id for c in reg.pack.categories.values() if c.list_id in lists)


def find_subjects(
    reg: Registry,
    *,
    sector: str,
    pending: bool = False,
    on: dt.date | None = None,
    limit: int = 20,
) -> list[Found]:
    """Up to ``limit`` subjects denied ``sector`` on ``on`` (default today), or with
    ``pending`` those whose deny waits for a publicity period to end; newest records first."""
    if sector not in reg.pack.sectors:
        raise InvalidInput.one("sector", f"not a sector of rule pack {reg.pack.version}", sector)
    if limit < 1:
        raise InvalidInput.one("limit", "must be at least 1", str(limit))
    day = on or reg.today()
    want = Status.PENDING if pending else Status.ACTIVE
    cats = deny_categories(reg, sector)
    if not cats:
        return []
    r = t.records.c
    who = union_all(
        select(r.subject_id.label("sid"), r.decision_date).where(r.category.in_(cats)),
        select(r.legal_representative_id.label("sid"), r.decision_date).where(
            r.category.in_(cats), r.legal_representative_id.is_not(None)
        ),
    ).subquery()
    latest = func.max(who.c.decision_date)
    q = select(who.c.sid).group_by(who.c.sid).order_by(latest.desc(), who.c.sid)
    found: list[Found] = []
    with reg.engine.connect() as conn:
        conn.execution_options(socialcredit_readonly=True)
        ids = [row.sid for row in conn.execute(q)]
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            events = events_by_subject(conn, chunk)
            names = {sid: (kind, name) for sid, kind, name in subject_names(conn, chunk)}
            for raw in chunk:
                try:
                    sid = parse_subject_id(raw)
                except InvalidInput:  # a stored id the kernel refuses: not a subject to show
                    continue
                a = assess(sid, events.get(raw, []), reg.pack, day, reg.calendar)
                hits = [
                    x
                    for x in a.restrictions
                    if x.sector == sector and x.effect is Effect.DENY and x.status is want
                ]
                if not hits:
                    continue
                # the restriction that lasts longest says when the subject may buy again
                x = max(hits, key=lambda h: h.end or dt.date.max)
                kind, name = names.get(raw, (sid.kind.value, None))
                found.append(
                    Found(
                        raw,
                        kind,
                        name,
                        sector,
                        x.status.value,
                        x.start,
                        x.end,
                        x.until_condition,
                        x.reason_code,
                        x.via,
                    )
                )
                if len(found) >= limit:
                    return found
    return found
