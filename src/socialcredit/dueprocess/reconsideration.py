"""Reconsideration: a higher body looks again at a rejected objection.

It must be filed within ``reconsideration_filing_days`` of the rejection, once per objection;
the listing stays in force meanwhile. The reviewer of the objection may not decide it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from socialcredit.domain import dueprocess as dp
from socialcredit.domain.identity import parse_subject_id
from socialcredit.dueprocess import outbox
from socialcredit.dueprocess.assignment import auto_assign
from socialcredit.dueprocess.cases import case_letter, get_case
from socialcredit.dueprocess.clock import naive_utc
from socialcredit.errors import Conflict, InvalidInput, NotFound
from socialcredit.integrity import audit, log_rows
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_dueprocess import cases


def file_reconsideration(
    reg: Registry, subject_id: str, objection_case_id: int, statement: str, filed_by: str
) -> dict[str, Any]:
    """Ask a higher body to reconsider a rejected objection, within the filing window."""
    sid = parse_subject_id(subject_id).value
    today = reg.today()
    now = reg.now()
    if not statement.strip():
        raise InvalidInput.one("statement", "say why the rejection is wrong", statement)
    with reg.engine.begin() as conn:
        p = conn.execute(select(cases).where(cases.c.id == objection_case_id)).first()
        if p is None or p.subject_id != sid:
            raise NotFound(f"case {objection_case_id} is not a case of subject {sid}")
        if p.kind != "objection" or p.outcome != "rejected":
            raise Conflict(f"case {p.id} is not a rejected objection; nothing to reconsider")
        last = dp.reconsideration_filing_ends(reg.pack, p.decided_on)
        if today > last:
            raise InvalidInput.one(
                "objection_case_id",
                f"reconsideration had to be filed by {last.isoformat()} "
                f"({reg.pack.reconsideration_filing_days} days after the rejection)",
                str(objection_case_id),
            )
        if conn.execute(select(cases.c.id).where(cases.c.parent_case_id == p.id)).first():
            raise Conflict(f"case {p.id} has already been taken to reconsideration")
        due = dp.reconsideration_due(reg.pack, today)
        cid = int(
            conn.execute(
                insert(cases).values(
                    subject_id=sid,
                    kind="reconsideration",
                    record_authority=p.record_authority,
                    record_case_number=p.record_case_number,
                    grounds=p.grounds,
                    statement=statement.strip(),
                    documents=[],
                    filed_by=filed_by,
                    filed_on=today,
                    filed_at=naive_utc(now),
                    due_on=due,
                    suspends_start=False,
                    parent_case_id=p.id,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        reviewer = auto_assign(conn, cid)
        outbox.queue(
            conn,
            reg,
            subject_id=sid,
            kind="reconsideration_filed",
            letter=case_letter(
                reg,
                "",
                f"Reconsideration {cid} received (objection {p.id})",
                (
                    "Your request",
                    [
                        f"To be decided by {due.isoformat()}",
                        "The listing stays in force meanwhile.",
                    ],
                ),
            ),
            dedupe_key=f"case:{cid}:filed",
            record=(p.record_authority, p.record_case_number),
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
            details={"kind": "reconsideration", "parent": p.id, "reviewer": reviewer},
        )
    return get_case(reg, cid)
