"""The operator's queue of cases: open or overdue ones, by subject or reviewer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from socialcredit.dueprocess.cases import case_dict
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_dueprocess import cases


def list_cases(
    reg: Registry,
    *,
    open_only: bool = False,
    overdue_only: bool = False,
    subject_id: str | None = None,
    reviewer: str | None = None,
) -> list[dict[str, Any]]:
    """The operator's queue: overdue cases first, then by due date."""
    q = select(cases)
    if open_only or overdue_only:
        q = q.where(cases.c.decided_on.is_(None))
    if overdue_only:
        q = q.where(cases.c.due_on < reg.today())
    if subject_id:
        q = q.where(cases.c.subject_id == subject_id)
    if reviewer:
        q = q.where(cases.c.reviewer == reviewer)
    with reg.engine.connect() as conn:
        rows = conn.execute(q.order_by(cases.c.due_on, cases.c.id)).all()
    today = reg.today()
    out = [case_dict(r, today) for r in rows]
    out.sort(key=lambda d: (not d["overdue"], d["due_on"], d["id"]))
    return out
