"""A demo citizen for ``serve --demo-keys`` (``make demo``): someone listed, with a fresh
letter code, so the portal can be tried at once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from socialcredit.dueprocess import letter_codes
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t


@dataclass(frozen=True)
class DemoCitizen:
    subject_id: str
    name: str
    code: str


def demo_citizen(reg: Registry) -> DemoCitizen | None:
    """A listed person with no email on file (their notices are letters), with a new
    letter code; ``None`` in an empty registry."""
    s, r = t.subjects.c, t.records.c
    with reg.engine.begin() as conn:
        row = conn.execute(
            select(s.id, s.name)
            .where(s.kind == "person", s.contact_email.is_(None))
            .where(s.id.in_(select(r.subject_id).where(r.category.like("air.%"))))
            .order_by(s.id)
            .limit(1)
        ).first()
        if row is None:
            row = conn.execute(
                select(s.id, s.name).where(s.id.in_(select(r.subject_id))).order_by(s.id).limit(1)
            ).first()
        if row is None:
            return None
        return DemoCitizen(row.id, row.name, letter_codes.issue(conn, reg, row.id))
