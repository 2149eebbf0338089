"""Tables of a batch's per-line problems and of uploads from the clerk's page.

- ``batch_problems``: the first :data:`KEPT` rejected lines' problems and the first
  :data:`KEPT` warnings of a batch, in the ingest report's order, written in the batch's own
  transaction (``registry/ingest/problems.py``), so a clerk reads them after a restart and on
  any worker.
- ``batch_problem_counts``: how many there were in all (a batch may have more than are kept).
  A batch received before migration 0009 has no row here: its problems were not kept.
- ``uploads``: a file uploaded from the clerk's page while it is ingested in the background:
  its state and progress, the batch it became, or why it was refused (a refused or unreadable
  file writes no batch, so its problems are kept here, as JSON).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from socialcredit.store.tables import metadata

KEPT = 10_000  # problems of each kind kept per batch; the counts say how many there were

batch_problems = Table(
    "batch_problems",
    metadata,
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=False),
    Column("seq", Integer, nullable=False),  # the report's order within its kind
    Column("kind", String(8), nullable=False),  # rejected | warning
    Column("line", Integer, nullable=True),
    Column("field", String(64), nullable=False),
    Column("value", Text, nullable=True),
    Column("reason", Text, nullable=False),
    PrimaryKeyConstraint("batch_id", "kind", "seq", name="pk_batch_problems"),
)

batch_problem_counts = Table(
    "batch_problem_counts",
    metadata,
    Column("batch_id", Integer, ForeignKey("batches.id"), primary_key=True),
    Column("rejected", Integer, nullable=False),  # problems, not lines (a line may have several)
    Column("warnings", Integer, nullable=False),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("authority", String(64), nullable=False),
    Column("filename", Text, nullable=False),
    Column("state", String(16), nullable=False),  # running | done | refused | failed
    Column("total", Integer, nullable=True),
    Column("done", Integer, nullable=False),
    Column("batch_id", Integer, nullable=True),
    Column("already_ingested", Integer, nullable=False),  # 0/1
    Column("error", Text, nullable=True),
    Column("problems", JSON, nullable=True),  # a refused or unreadable file's problems
    Column("started_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
