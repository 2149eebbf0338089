"""Where a person lives and since when: scoring eligibility needs both (the region in a resident
ID is where it was issued, not where the person lives now). A move replaces the residence and
notes a change so the scoring follower rescores the person."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from socialcredit.domain.identity import SubjectKind, parse_subject_id
from socialcredit.errors import InvalidInput
from socialcredit.runtime.registry import Registry
from socialcredit.scoring.programmes import _write
from socialcredit.store.tables_scoring import (
    residences,
)


@dataclass(frozen=True)
class Residence:
    subject_id: str
    region_code: str
    resident_since: dt.date | None


def write_residences(conn: Connection, rows: Sequence[Residence]) -> int:
    """Insert or replace residences (one per subject), set-wise."""
    if not rows:
        return 0
    ids = [r.subject_id for r in rows]
    for i in range(0, len(ids), 20_000):
        conn.execute(delete(residences).where(residences.c.subject_id.in_(ids[i : i + 20_000])))
    values = [
        {
            "subject_id": r.subject_id,
            "region_code": r.region_code,
            "resident_since": r.resident_since,
        }
        for r in rows
    ]
    for i in range(0, len(values), 100_000):
        conn.execute(insert(residences), values[i : i + 100_000])
    return len(rows)


def set_residence(
    reg: Registry, subject_id: str, region_code: str, resident_since: dt.date | None
) -> dict[str, Any]:
    """Record where a person lives and since when (a move replaces the previous residence)."""
    sid = parse_subject_id(subject_id, field="subject_id")
    if sid.kind is not SubjectKind.PERSON:
        raise InvalidInput.one("subject_id", "only natural persons have a residence", sid.value)
    if not (len(region_code) == 6 and region_code.isdigit()):
        raise InvalidInput.one("region_code", "must be a 6-digit GB/T 2260 code", region_code)
    if resident_since is not None and resident_since > reg.today():
        raise InvalidInput.one(
            "resident_since", "must not be in the future", resident_since.isoformat()
        )
    from socialcredit.registry import note_change

    with _write(reg) as conn:
        write_residences(conn, [Residence(sid.value, region_code, resident_since)])
        note_change(conn, sid.value, "residence")  # the scoring follower rescores them
    return {
        "subject_id": sid.value,
        "region_code": region_code,
        "resident_since": None if resident_since is None else resident_since.isoformat(),
    }


def _residence(conn: Connection, subject_id: str) -> Residence | None:
    row = conn.execute(select(residences).where(residences.c.subject_id == subject_id)).first()
    if row is None:
        return None
    return Residence(row.subject_id, row.region_code, row.resident_since)
