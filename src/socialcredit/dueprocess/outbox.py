"""The outbox of notices to subjects: queued, planned from record events, read back.

Where notices come from:

- changes made by due process (objection filed or decided, repair) queue their notice in the
  same transaction as the change (:func:`queue`);
- records and events accepted from authorities are noticed by the **planner**
  (:func:`plan`), which reads ``record_events`` past a stored cursor and queues one notice per
  event, moving the cursor in the same transaction. The event row is the durable trigger, so
  a crash before planning loses nothing; the unique ``dedupe_key`` (``event:<id>``) means an
  event is never noticed twice, even when a case already queued the notice for its own event.

A notice goes by email to a subject with a registered address; one with none gets a letter,
queued for the record's authority to serve. Delivery is :mod:`dueprocess.delivery`; the
content, :mod:`dueprocess.letters`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, literal, null, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from socialcredit.dueprocess.clock import naive_utc
from socialcredit.dueprocess.letters import Letter, record_letter
from socialcredit.integrity import audit, log_place, log_rows
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t
from socialcredit.store.tables_dueprocess import notice_cursor, notices

PLAN_LOCK_KEY = 0x5C_40_71_CE
CURSOR = "record_events"


def _insert_ignore(conn: Connection, values: dict[str, Any]) -> bool:
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(notices)
    res = conn.execute(ins.values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"]))
    if not res.rowcount:
        return False
    c = notices.c
    nid = conn.execute(select(c.id).where(c.dedupe_key == values["dedupe_key"])).scalar_one()
    log_rows(conn, "notice", [int(nid)])  # queued: what the subject will be told, as of now
    return True


def queue(
    conn: Connection,
    reg: Registry,
    *,
    subject_id: str,
    kind: str,
    letter: Letter,
    dedupe_key: str,
    record: tuple[str, str] | None = None,
    case_id: int | None = None,
    channel: str | None = None,
    logged: tuple[str, int] | None = None,
) -> bool:
    """Queue a notice in the caller's transaction: email if the subject has a registered
    address, else a letter for the record's authority to serve. False if already queued.

    A notice about a record says where the record (or ``logged``: the event the notice is
    about) is in the transparency log and how to check it (:func:`_log_section`)."""
    _log_section(conn, letter, record, logged)
    s = conn.execute(
        select(t.subjects.c.contact_email).where(t.subjects.c.id == subject_id)
    ).first()
    email = s.contact_email if s is not None else None
    ch = channel or ("email" if email else "letter")
    now = naive_utc(reg.now())
    return _insert_ignore(
        conn,
        {
            "subject_id": subject_id,
            "kind": kind,
            "created_at": now,
            "channel": ch,
            "status": "queued",
            "address": email if ch == "email" else None,
            "serving_authority": (record[0] if record else "registry") if ch == "letter" else None,
            "subject_line": letter.subject_line,
            "body_text": letter.text(),
            "body_html": letter.html(),
            "dedupe_key": dedupe_key,
            "message_id": f"<notice-{uuid.uuid4().hex}@socialcredit.registry>",
            "record_authority": record[0] if record else None,
            "record_case_number": record[1] if record else None,
            "case_id": case_id,
            "attempts": 0,
            "next_attempt_at": now,
        },
    )


def _log_section(
    conn: Connection,
    letter: Letter,
    record: tuple[str, str] | None,
    logged: tuple[str, int] | None,
) -> None:
    if logged is None and record is not None:
        r = t.records.c
        rid = conn.execute(
            select(r.id).where(r.authority == record[0], r.case_number == record[1])
        ).scalar()
        logged = None if rid is None else ("record", int(rid))
    if logged is None:
        return
    place = log_place(conn, *logged)
    if place is None:
        return
    ref = f"{record[0]}/{record[1]}" if record else f"{logged[0]} {logged[1]}"
    what = f"Record {ref}" if logged[0] == "record" else f"This change to record {ref}"
    letter.add("Check it in the transparency log", *place.lines(what))


def queue_letter_copy(conn: Connection, reg: Registry, n: Any) -> None:
    """A failed email becomes a letter with the same content, served by the authority."""
    now = naive_utc(reg.now())
    _insert_ignore(
        conn,
        {
            "subject_id": n.subject_id,
            "kind": n.kind,
            "created_at": now,
            "channel": "letter",
            "status": "queued",
            "address": None,
            "serving_authority": n.record_authority or "registry",
            "subject_line": n.subject_line,
            "body_text": n.body_text,
            "body_html": n.body_html,
            "dedupe_key": f"{n.dedupe_key}:letter",
            "message_id": f"<notice-{uuid.uuid4().hex}@socialcredit.registry>",
            "record_authority": n.record_authority,
            "record_case_number": n.record_case_number,
            "case_id": n.case_id,
            "attempts": 0,
            "next_attempt_at": now,
        },
    )


_WHAT = {
    "listed": "you have been listed",
    "fulfilled": "the obligation was reported performed; the measures end",
    "withdrawn": "the record was withdrawn; the measures end",
    "corrected": "the record's data were corrected",
    "repaired": "credit repair was granted; publication, sharing and the measures stop",
}


def plan(reg: Registry, limit: int = 500) -> int:
    """Queue notices for record events accepted since the last run; return how many."""
    from socialcredit.registry import subject_file

    e, r = t.record_events.c, t.records.c
    with reg.engine.connect() as conn:
        row = conn.execute(
            select(notice_cursor.c.last_event_id).where(notice_cursor.c.name == CURSOR)
        ).first()
        start = 0 if row is None else int(row.last_event_id)
        # Records and their events share one sequence: a record row is its listing.
        listed = select(
            r.id,
            literal("listed").label("type"),
            r.decision_date.label("event_date"),
            null().label("reason"),
            literal("listed").label("fingerprint"),
            r.authority,
            r.case_number,
            r.subject_id,
        ).where(r.id > start)
        later = (
            select(
                e.id,
                e.type,
                e.event_date,
                e.reason,
                e.fingerprint,
                r.authority,
                r.case_number,
                r.subject_id,
            )
            .join(t.records, r.id == e.record_id)
            .where(e.id > start)
        )
        both = union_all(listed, later).subquery()
        rows = conn.execute(select(both).order_by(both.c.id).limit(limit)).all()
    if not rows:
        return 0
    files: dict[str, Any] = {}
    planned: list[tuple[Any, Letter]] = []
    for ev in rows:
        if ev.type not in _WHAT or str(ev.fingerprint).startswith("case-"):
            continue  # written by a case (objection, repair), which queued its own notice
        if ev.subject_id not in files:
            files[ev.subject_id] = subject_file(reg, ev.subject_id)
        f = files[ev.subject_id]
        what = _WHAT[ev.type] + (f" ({ev.reason})" if ev.reason else "")
        what += f" on {ev.event_date.isoformat()}"
        name = f.subject.name if f.subject else ""
        planned.append(
            (ev, record_letter(reg, name, f.assessment, ev.authority, ev.case_number, what))
        )
    queued = 0
    with reg.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PLAN_LOCK_KEY})")
        now_row = conn.execute(
            select(notice_cursor.c.last_event_id).where(notice_cursor.c.name == CURSOR)
        ).first()
        if (0 if now_row is None else int(now_row.last_event_id)) != start:
            return 0  # another planner got there first; nothing is lost, it did the work
        for ev, letter in planned:
            queued += queue(
                conn,
                reg,
                subject_id=ev.subject_id,
                kind=ev.type,
                letter=letter,
                dedupe_key=f"event:{ev.id}",
                record=(ev.authority, ev.case_number),
                logged=("record" if ev.type == "listed" else "record_event", int(ev.id)),
            )
        last = int(rows[-1].id)
        if now_row is None:
            conn.execute(notice_cursor.insert().values(name=CURSOR, last_event_id=last))
        else:
            conn.execute(
                update(notice_cursor)
                .where(notice_cursor.c.name == CURSOR)
                .values(last_event_id=last)
            )
        if queued:
            audit.append(
                conn,
                reg.now(),
                "notice-planner",
                "notices.queued",
                details={"events": [int(rows[0].id), last], "queued": queued},
            )
    return queued


def notice_dict(n: Any, full: bool = False) -> dict[str, Any]:
    out = {
        "id": n.id,
        "kind": n.kind,
        "channel": n.channel,
        "status": n.status,
        "created_at": n.created_at.isoformat(),
        "delivered_at": None if n.delivered_at is None else n.delivered_at.isoformat(),
        "subject_line": n.subject_line,
        "record": f"{n.record_authority}/{n.record_case_number}" if n.record_authority else None,
        "case_id": n.case_id,
        "serving_authority": n.serving_authority,
        "attempts": n.attempts,
    }
    if full:
        out["body_text"] = n.body_text
    return out


def notices_for_subject(reg: Registry, subject_id: str) -> list[dict[str, Any]]:
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(notices).where(notices.c.subject_id == subject_id).order_by(notices.c.id)
        )
        return [notice_dict(n, full=True) for n in rows]


def get_notice(reg: Registry, notice_id: int) -> Any:
    from socialcredit.errors import NotFound

    with reg.engine.connect() as conn:
        n = conn.execute(select(notices).where(notices.c.id == notice_id)).first()
    if n is None:
        raise NotFound(f"notice {notice_id} does not exist")
    return n
