"""Objections and reconsideration as cases: filed, assigned to a reviewer, decided in writing.

Every change is one transaction: the case row, the record events it causes (``suspended`` /
``resumed`` / ``withdrawn`` with reason ``objection_upheld`` / ``corrected``), the subject's
entry in ``subject_changes`` (so screening servers patch their index within a second), the
notice to the subject and the audit entry. Deadlines come from :mod:`domain.dueprocess`.

This module holds what every kind of case shares (repair's too): the subject's own
record, the registry events and change-feed entries a case writes, the open case row, the
case letter and the case as the API shows it. Filing is in :mod:`objections` and
:mod:`reconsideration`, reviewers and assignment in :mod:`assignment`, written decisions
in :mod:`decisions`, the operator's queue in :mod:`case_queue`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import Connection, func, insert, select, union_all

from socialcredit.domain import dueprocess as dp
from socialcredit.domain.records import EventType, Record, RecordState
from socialcredit.domain.restrictions import Listing
from socialcredit.dueprocess.clock import naive_utc
from socialcredit.dueprocess.letters import Letter
from socialcredit.errors import Conflict, NotFound
from socialcredit.integrity import log_rows
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t
from socialcredit.store.codec import record_to_json
from socialcredit.store.tables_dueprocess import cases
from socialcredit.store.tables_screening import subject_changes

# Record ids are assigned under the ingest service's advisory lock on PostgreSQL; registry
# events take the same lock so the two never race for an id.
RECORD_WRITE_LOCK = 0x5C_1A_6E_57


# --- shared helpers (repair uses them too) -------------------------------------------------


def own_record(
    reg: Registry, subject_id: str, authority: str, case_number: str
) -> tuple[Any, RecordState, Listing | None]:
    """The subject's file, the record's state and its listing; NotFound if not theirs."""
    from socialcredit.registry import subject_file

    f = subject_file(reg, subject_id)
    st = next(
        (s for s in f.states if s.ref.authority == authority and s.ref.case_number == case_number),
        None,
    )
    if st is None:
        raise NotFound(
            f"record {authority}/{case_number} is not a record of subject {f.subject_id.value}"
        )
    listing = next((x for x in f.assessment.listings if x.ref == st.ref), None)
    return f, st, listing


def append_record_event(
    conn: Connection,
    reg: Registry,
    ref: tuple[str, str],
    kind: EventType,
    day: dt.date,
    *,
    fingerprint: str,
    reason: str | None = None,
    payload: Record | None = None,
) -> int:
    """Append a registry event to a record in the caller's transaction; return its id.

    Like an authority's, the event comes in a batch of its own (source ``registry:...``) and
    takes the next number of the sequence records and events share, under the ingest lock.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({RECORD_WRITE_LOCK})")
    r = t.records.c
    rid = conn.execute(
        select(r.id).where(r.authority == ref[0], r.case_number == ref[1])
    ).scalar_one()
    top = union_all(
        select(func.coalesce(func.max(t.records.c.id), 0).label("m")),
        select(func.coalesce(func.max(t.record_events.c.id), 0).label("m")),
    ).subquery()
    eid = int(conn.execute(select(func.max(top.c.m))).scalar_one()) + 1
    source = f"registry:{fingerprint}"
    batch = conn.execute(
        insert(t.batches).values(
            source_name=source,
            sha256=hashlib.sha256(f"{source}:{rid}".encode()).hexdigest(),
            received_at=naive_utc(reg.now()),
            lines=1,
            accepted=1,
            duplicates=0,
            rejected=0,
        )
    ).inserted_primary_key
    assert batch is not None
    conn.execute(
        insert(t.record_events).values(
            id=eid,
            record_id=rid,
            type=kind.value,
            event_date=day,
            payload=None if payload is None else record_to_json(payload),
            reason=reason,
            fingerprint=fingerprint,
            batch_id=int(batch[0]),
        )
    )
    log_rows(conn, "batch", [int(batch[0])])
    log_rows(conn, "record_event", [eid])
    return eid


def mark_changed(conn: Connection, reg: Registry, subject_ids: set[str], cause: str) -> None:
    for sid in sorted(s for s in subject_ids if s):
        conn.execute(
            insert(subject_changes).values(subject_id=sid, at=naive_utc(reg.now()), cause=cause)
        )


def open_case(conn: Connection, case_id: int) -> Any:
    row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
    if row is None:
        raise NotFound(f"case {case_id} does not exist")
    if row.decided_on is not None:
        raise Conflict(f"case {case_id} was decided on {row.decided_on.isoformat()}")
    if row.kind == "repair":
        raise Conflict(f"case {case_id} is a repair application, decided when filed")
    return row


def case_letter(reg: Registry, name: str, title: str, *sections: tuple[str, list[str]]) -> Any:
    letter = Letter(title, f"Dear {name or 'subject'},", [])
    for head, lines in sections:
        letter.add(head, *lines)
    return letter


# --- reading -------------------------------------------------------------------------------


def case_dict(row: Any, today: dt.date) -> dict[str, Any]:
    d = {k: row._mapping[k] for k in row._mapping.keys()}
    for k, v in list(d.items()):
        if isinstance(v, dt.date | dt.datetime):
            d[k] = v.isoformat()
    d["record"] = f"{row.record_authority}/{row.record_case_number}"
    d["state"] = row.outcome or ("assigned" if row.reviewer else "filed")
    d["overdue"] = dp.is_overdue(row.due_on, row.decided_on, today)
    return d


def get_case(reg: Registry, case_id: int) -> dict[str, Any]:
    with reg.engine.connect() as conn:
        row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
    if row is None:
        raise NotFound(f"case {case_id} does not exist")
    return case_dict(row, reg.today())
