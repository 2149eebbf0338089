"""A batch's per-line problems, kept in the database with the batch (``batch_problems``).

The ingest report lists every problem; the database keeps the first
:data:`~socialcredit.store.tables_batches.KEPT` of each kind (rejected, warning) and how many
there were in all, written in the batch's own transaction: a clerk who uploaded a file reads
them later, after a restart or from another worker, with the batch (``GET /v1/batches/{id}``,
the batch page, ``socialcredit batch show``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from socialcredit.errors import Problem
from socialcredit.store.tables_batches import KEPT, batch_problem_counts, batch_problems

KINDS = ("rejected", "warning")


def keep(
    conn: Connection,
    batch_id: int,
    rejected: tuple[Problem, ...],
    warnings: tuple[Problem, ...],
) -> None:
    """Write a batch's problems (the first :data:`KEPT` of each kind) and their counts."""
    conn.execute(
        insert(batch_problem_counts).values(
            batch_id=batch_id, rejected=len(rejected), warnings=len(warnings)
        )
    )
    rows = [
        {
            "batch_id": batch_id,
            "seq": i,
            "kind": kind,
            "line": p.line,
            "field": p.field[:64],
            "value": p.value,
            "reason": p.reason,
        }
        for kind, problems in zip(KINDS, (rejected, warnings), strict=True)
        for i, p in enumerate(problems[:KEPT])
    ]
    if rows:
        conn.execute(insert(batch_problems), rows)


@dataclass(frozen=True)
class Kept:
    """What is kept of a batch's problems: ``None`` counts when the batch predates keeping."""

    rejected_total: int | None
    warnings_total: int | None
    rejected: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    limit: int = KEPT

    def to_dict(self) -> dict[str, Any]:
        return {
            "kept_per_kind": self.limit,
            "rejected_total": self.rejected_total,
            "warnings_total": self.warnings_total,
            "rejected": self.rejected,
            "warnings": self.warnings,
        }


def read(conn: Connection, batch_id: int) -> Kept:
    """The kept problems of one batch, in the report's order."""
    counts = conn.execute(
        select(batch_problem_counts).where(batch_problem_counts.c.batch_id == batch_id)
    ).first()
    c = batch_problems.c
    rows = conn.execute(
        select(c.kind, c.line, c.field, c.value, c.reason)
        .where(c.batch_id == batch_id)
        .order_by(c.kind, c.seq)
    ).all()
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for r in rows:
        out[r.kind].append({"line": r.line, "field": r.field, "value": r.value, "reason": r.reason})
    return Kept(
        None if counts is None else counts.rejected,
        None if counts is None else counts.warnings,
        out["rejected"],
        out["warning"],
    )
