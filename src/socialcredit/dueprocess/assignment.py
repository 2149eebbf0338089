"""Reviewers and who decides a case: registered, checked for conflicts, assigned.

A new case goes to the eligible reviewer with the fewest open cases (:func:`auto_assign`); an
operator may reassign it (:func:`assign`). Who is eligible (active; of the level and body the
kind of case needs; never the subject or its legal representative; for a reconsideration, not
the reviewer of the objection) is :func:`domain.dueprocess.reviewer_conflict`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from socialcredit.domain import dueprocess as dp
from socialcredit.domain.identity import parse_subject_id
from socialcredit.dueprocess.cases import get_case, open_case
from socialcredit.dueprocess.clock import naive_utc
from socialcredit.errors import Conflict, Forbidden, InvalidInput, NotFound
from socialcredit.integrity import audit, log_rows
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t
from socialcredit.store.tables_dueprocess import cases, reviewers

# --- reviewers -----------------------------------------------------------------------------


def add_reviewer(reg: Registry, r: dp.Reviewer, actor: str) -> dict[str, Any]:
    if r.level not in ("first", "higher"):
        raise InvalidInput.one("level", "must be first or higher", r.level)
    if not r.id.strip():
        raise InvalidInput.one("id", "must not be empty", r.id)
    if r.subject_id is not None:
        r = replace(r, subject_id=parse_subject_id(r.subject_id, "subject_id").value)
    with reg.engine.begin() as conn:
        if conn.execute(select(reviewers.c.id).where(reviewers.c.id == r.id)).first():
            raise Conflict(f"reviewer {r.id} already exists")
        conn.execute(
            insert(reviewers).values(
                id=r.id,
                name=r.name,
                body=r.body,
                level=r.level,
                subject_id=r.subject_id,
                active=True,
                created_at=naive_utc(reg.now()),
            )
        )
        log_rows(conn, "reviewer", [r.id])
        audit.append(
            conn,
            reg.now(),
            actor,
            "reviewer.added",
            target=f"reviewer:{r.id}",
            details={"body": r.body, "level": r.level},
        )
    return {"id": r.id, "name": r.name, "body": r.body, "level": r.level}


def get_reviewer(conn: Connection, rid: str) -> dp.Reviewer:
    row = conn.execute(select(reviewers).where(reviewers.c.id == rid)).first()
    if row is None:
        raise NotFound(f"reviewer {rid} does not exist")
    return dp.Reviewer(row.id, row.name, row.body, row.level, row.subject_id, bool(row.active))


def case_facts(conn: Connection, row: Any) -> dp.CaseFacts:
    rep = conn.execute(
        select(t.records.c.legal_representative_id).where(
            t.records.c.authority == row.record_authority,
            t.records.c.case_number == row.record_case_number,
        )
    ).scalar_one_or_none()
    earlier: frozenset[str] = frozenset()
    if row.parent_case_id is not None:
        p = conn.execute(select(cases.c.reviewer).where(cases.c.id == row.parent_case_id)).first()
        earlier = frozenset({p.reviewer} if p and p.reviewer else set())
    return dp.CaseFacts(
        id=row.id,
        kind=dp.CaseKind(row.kind),
        subject_id=row.subject_id,
        record_authority=row.record_authority,
        legal_representative_id=rep,
        filed_on=row.filed_on,
        due_on=row.due_on,
        reviewer=row.reviewer,
        decided_on=row.decided_on,
        earlier_reviewers=earlier,
    )


def auto_assign(conn: Connection, case_id: int) -> str | None:
    """The eligible reviewer with the fewest open cases (then by id), or None."""
    row = conn.execute(select(cases).where(cases.c.id == case_id)).one()
    facts = case_facts(conn, row)
    open_counts: dict[str, int] = dict(
        conn.execute(
            select(cases.c.reviewer, func.count())
            .where(cases.c.decided_on.is_(None), cases.c.reviewer.is_not(None))
            .group_by(cases.c.reviewer)
        ).all()
    )
    pool = []
    for r in conn.execute(select(reviewers).where(reviewers.c.active.is_(True))):
        rv = dp.Reviewer(r.id, r.name, r.body, r.level, r.subject_id, bool(r.active))
        if dp.reviewer_conflict(rv, facts) is None:
            pool.append((open_counts.get(rv.id, 0), rv.id, rv.body))
    if not pool:
        return None
    _, rid, body = min(pool)
    conn.execute(
        update(cases).where(cases.c.id == case_id).values(reviewer=rid, reviewer_body=body)
    )
    return str(rid)


def assign(reg: Registry, case_id: int, reviewer_id: str, actor: str) -> dict[str, Any]:
    with reg.engine.begin() as conn:
        row = open_case(conn, case_id)
        rv = get_reviewer(conn, reviewer_id)
        why = dp.reviewer_conflict(rv, case_facts(conn, row))
        if why:
            raise Forbidden(why)
        conn.execute(
            update(cases).where(cases.c.id == case_id).values(reviewer=rv.id, reviewer_body=rv.body)
        )
        log_rows(conn, "case", [case_id])
        audit.append(
            conn,
            reg.now(),
            actor,
            "case.assigned",
            subject_id=row.subject_id,
            target=f"case:{case_id}",
            details={"reviewer": rv.id},
        )
    return get_case(reg, case_id)
