"""The audit log's hash chain (``prev_hash``, ``hash``) dropped: the transparency log, which
holds every audit entry as a leaf, protects them (issue 13), and nothing read the chain.

After 0009 (0008's due-process tables, then the batch problems); it writes to the log, so
it needs the log's tables (integrity, 0006).

An audit entry's leaf commits to its whole row, so dropping two columns changes what
``log verify`` recomputes for every entry: each is logged again as it now stands, a row being
checked against its newest leaf (the older leaves, with the chain, stay as history). The
rows are read with plain SQL, not the application's tables, so the leaves are those of the
columns the table really has. A downgrade puts the chain back (recomputed, as it was
written) and logs the entries again with it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = "0006"

GENESIS = "0" * 64
CHAIN = ("prev_hash", "hash")


def _relog() -> None:
    from socialcredit.integrity import append_leaves, leaf_payload

    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT * FROM audit_log ORDER BY seq")).mappings().all()
    for i in range(0, len(rows), 10_000):
        part = rows[i : i + 10_000]
        payloads = [leaf_payload("audit", dict(r)) for r in part]
        append_leaves(conn, "audit", [int(r["seq"]) for r in part], payloads)


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as b:
        for name in CHAIN:
            b.drop_column(name)
    _relog()


def _entry_hash(prev: str, r: Any) -> str:
    """The retired chain's hash of an entry (``integrity/audit.py`` before 0010)."""
    h = hashlib.sha256()
    parts = (prev, str(r.seq), r.at, r.actor, r.action, r.subject_id or "", r.target or "")
    for part in (*parts, r.details):
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as b:
        for name in CHAIN:
            b.add_column(sa.Column(name, sa.String(64), nullable=False, server_default=GENESIS))
    conn = op.get_bind()
    prev = GENESIS
    for r in conn.execute(sa.text("SELECT * FROM audit_log ORDER BY seq")).all():
        h = _entry_hash(prev, r)
        conn.execute(
            sa.text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
            {"p": prev, "h": h, "s": r.seq},
        )
        prev = h
    with op.batch_alter_table("audit_log") as b:
        for name in CHAIN:
            b.alter_column(name, server_default=None)
    _relog()
