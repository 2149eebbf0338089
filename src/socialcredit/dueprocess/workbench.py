"""The reviewer's workbench: the queue of one body at one level, a case with everything needed
to decide it, and the decision itself.

A reviewer's account (``accounts``) acts as the registered reviewer of the same id
(``reviewer add``/``POST /v1/reviewers``, where their own resident ID is kept): the conflict
rules of :func:`domain.dueprocess.reviewer_conflict` — never a case on one's own record — are
then the decision service's own, unchanged. A case is visible to a reviewer account when it
is of their level (objection: first; reconsideration: higher) and of their body (the body it
is assigned to; unassigned, a body that could take it). Any other case is "not found": a
reviewer of another body does not learn that it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select

from socialcredit.accounts import RoleRefused, User
from socialcredit.domain import dueprocess as dp
from socialcredit.dueprocess import decisions
from socialcredit.dueprocess.cases import case_dict
from socialcredit.errors import NotFound
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t
from socialcredit.store.tables_dueprocess import cases, reviewers

LEVEL = {"objection": "first", "reconsideration": "higher"}


def _visible(user: User, row: Any) -> bool:
    level = LEVEL.get(row.kind)
    if level is None:
        return False
    if row.reviewer_body:
        return user.may_review(row.reviewer_body, level)
    if row.kind == "objection":
        return any(user.may_review(b, level) for b in (row.record_authority, "registry"))
    return user.may_review(str(user.scope.review_body), level)


def reviewer_of(reg: Registry, user: User) -> dp.Reviewer | None:
    """The registered reviewer this account acts as (same id, body and level), if any."""
    with reg.engine.connect() as conn:
        r = conn.execute(select(reviewers).where(reviewers.c.id == user.username)).first()
    if r is None or not user.may_review(r.body, r.level):
        return None
    return dp.Reviewer(r.id, r.name, r.body, r.level, r.subject_id, bool(r.active))


def queue(reg: Registry, user: User) -> list[dict[str, Any]]:
    """Open cases this reviewer may see, by due date; overdue ones flagged."""
    level = user.scope.review_level
    kinds = [k for k, lv in LEVEL.items() if lv == level]
    q = select(cases).where(cases.c.decided_on.is_(None), cases.c.kind.in_(kinds))
    if user.scope.review_body != "registry":
        q = q.where(
            or_(
                cases.c.reviewer_body == user.scope.review_body,
                cases.c.reviewer_body.is_(None),
            )
        )
    with reg.engine.connect() as conn:
        rows = conn.execute(q.order_by(cases.c.due_on, cases.c.id)).all()
    today = reg.today()
    return [case_dict(r, today) for r in rows if _visible(user, r)]


def case_view(reg: Registry, user: User, case_id: int) -> dict[str, Any]:
    """The case, its record (with the legal basis), the subject's statement and evidence,
    and the earlier decisions on the same record; NotFound unless the reviewer may see it."""
    return case_file(reg, case_id, lambda row: _visible(user, row))


def case_file(
    reg: Registry, case_id: int, visible: Callable[[Any], bool] = lambda _: True
) -> dict[str, Any]:
    """A case with its record and earlier decisions (``case show``; unscoped by default)."""
    with reg.engine.connect() as conn:
        row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
        if row is None or not visible(row):
            raise NotFound(f"case {case_id} does not exist")
        rec = conn.execute(
            select(t.records).where(
                t.records.c.authority == row.record_authority,
                t.records.c.case_number == row.record_case_number,
            )
        ).first()
        earlier = conn.execute(
            select(cases)
            .where(
                cases.c.record_authority == row.record_authority,
                cases.c.record_case_number == row.record_case_number,
                cases.c.decided_on.is_not(None),
                cases.c.id != case_id,
            )
            .order_by(cases.c.decided_on)
        ).all()
    today = reg.today()
    record = None
    if rec is not None:
        record = {
            "authority": rec.authority,
            "case_number": rec.case_number,
            "category": rec.category,
            "subject_id": rec.subject_id,
            "subject_name": rec.subject_name,
            "decision_date": rec.decision_date.isoformat(),
            "legal_basis": rec.legal_basis,
            "amount_owed": None if rec.amount_owed is None else str(rec.amount_owed),
            "evidence_ref": rec.evidence_ref,
        }
    return {
        "case": case_dict(row, today),
        "record": record,
        "earlier": [case_dict(e, today) for e in earlier],
    }


def decide(reg: Registry, user: User, case_id: int, outcome: str, reasons: str) -> dict[str, Any]:
    """Decide as the registered reviewer this account is; the service refuses a reviewer's
    own record, a case assigned to someone else, or reasons too short."""
    case_view(reg, user, case_id)  # NotFound unless visible
    rv = reviewer_of(reg, user)
    if rv is None:
        raise RoleRefused(
            f"account {user.username} is not registered as a reviewer of "
            f"{user.scope.label()}; an operator adds it with `reviewer add`"
        )
    return decisions.decide(reg, case_id, rv.id, outcome, reasons)
