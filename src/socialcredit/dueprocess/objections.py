"""Filing an objection to one of the subject's records.

An objection filed within the publicity period of a pending listing holds the restriction's
start (a ``suspended`` event) until it is decided; otherwise the record stays in force. The
case is assigned at once and the subject gets a notice of receipt with the deadline.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from socialcredit.domain import dueprocess as dp
from socialcredit.domain.records import EventType
from socialcredit.dueprocess import outbox
from socialcredit.dueprocess.assignment import auto_assign
from socialcredit.dueprocess.cases import (
    append_record_event,
    case_letter,
    get_case,
    mark_changed,
    own_record,
)
from socialcredit.dueprocess.clock import naive_utc
from socialcredit.errors import Conflict, InvalidInput
from socialcredit.integrity import audit, log_rows
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_dueprocess import cases


def file_objection(
    reg: Registry,
    subject_id: str,
    authority: str,
    case_number: str,
    grounds: str,
    statement: str,
    documents: list[str],
    filed_by: str,
) -> dict[str, Any]:
    """File an objection to one of the subject's records; SLA from ``deadlines``."""
    try:
        g = dp.Grounds(grounds)
    except ValueError:
        g = None
    if g is None or g not in dp.OBJECTION_GROUNDS:
        raise InvalidInput.one(
            "grounds", f"must be one of {sorted(x.value for x in dp.OBJECTION_GROUNDS)}", grounds
        )
    if not statement.strip():
        raise InvalidInput.one("statement", "say in a sentence or more what is wrong", statement)
    f, st, listing = own_record(reg, subject_id, authority, case_number)
    sid = f.subject_id.value
    today = reg.today()
    cat = reg.pack.categories.get(st.record.category)
    suspends = bool(
        cat is not None
        and listing is not None
        and listing.status.value == "pending"
        and not listing.suspended
        and dp.suspends_start(cat, listing, today)
    )
    due = dp.objection_due(reg.pack, today)
    now = reg.now()
    with reg.engine.begin() as conn:
        busy = conn.execute(
            select(cases.c.id).where(
                cases.c.record_authority == authority,
                cases.c.record_case_number == case_number,
                cases.c.kind.in_(["objection", "reconsideration"]),
                cases.c.decided_on.is_(None),
            )
        ).first()
        if busy is not None:
            raise Conflict(f"case {busy.id} on record {authority}/{case_number} is still open")
        cid = int(
            conn.execute(
                insert(cases).values(
                    subject_id=sid,
                    kind="objection",
                    record_authority=authority,
                    record_case_number=case_number,
                    grounds=g.value,
                    statement=statement.strip(),
                    documents=list(documents),
                    filed_by=filed_by,
                    filed_on=today,
                    filed_at=naive_utc(now),
                    due_on=due,
                    suspends_start=suspends,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        if suspends:
            append_record_event(
                conn,
                reg,
                (authority, case_number),
                EventType.SUSPENDED,
                today,
                fingerprint=f"case-{cid}-suspended",
                reason=f"objection case {cid}",
            )
            mark_changed(conn, reg, {sid}, "objection")
        reviewer = auto_assign(conn, cid)
        name = f.subject.name if f.subject else ""
        hold = (
            "Filed within the publicity period: the restriction will not start before the "
            "objection is decided."
            if suspends
            else "The record stays in force while the objection is reviewed."
        )
        outbox.queue(
            conn,
            reg,
            subject_id=sid,
            kind="objection_filed",
            letter=case_letter(
                reg,
                name,
                f"Objection {cid} received: record {authority}/{case_number}",
                (
                    "Your objection",
                    [
                        f"Grounds: {g.value}",
                        f"Filed on {today.isoformat()}",
                        f"To be decided by {due.isoformat()}",
                        hold,
                    ],
                ),
            ),
            dedupe_key=f"case:{cid}:filed",
            record=(authority, case_number),
            case_id=cid,
        )
        log_rows(conn, "case", [cid])
        audit.append(
            conn,
            now,
            filed_by,
            "case.filed",
            subject_id=sid,
            target=f"case:{cid}",
            details={
                "kind": "objection",
                "grounds": g.value,
                "suspends": suspends,
                "reviewer": reviewer,
            },
        )
    return get_case(reg, cid)
