"""Screening: rate limits, refusals, subjects by creation time, change notifications.

Revision ID: 0002b
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002b"
down_revision = "0002"
branch_labels = None
depends_on = None

# One statement-level trigger per append-only table: a COPY of a million rows sends one
# NOTIFY, and NOTIFYs are delivered only on commit, so a listener never sees a change early.
_NOTIFIED = ("records", "record_events", "subject_changes")


def upgrade() -> None:
    op.add_column("relying_parties", sa.Column("rate_per_minute", sa.Integer(), nullable=True))
    op.create_table(
        "screening_refusals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("relying_party", sa.String(64), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("sector", sa.String(64), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_screening_refusals"),
    )
    op.create_index("ix_screening_refusals_at", "screening_refusals", ["at"])
    op.create_index("ix_subjects_created_at", "subjects", ["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION socialcredit_notify_change() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "PERFORM pg_notify('socialcredit_changes', TG_TABLE_NAME); RETURN NULL; END $$"
        )
        for table in _NOTIFIED:
            op.execute(
                f"CREATE TRIGGER {table}_notify_screening AFTER INSERT ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION socialcredit_notify_change()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _NOTIFIED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_screening ON {table}")
        op.execute("DROP FUNCTION IF EXISTS socialcredit_notify_change()")
    op.drop_index("ix_subjects_created_at", table_name="subjects")
    op.drop_index("ix_screening_refusals_at", table_name="screening_refusals")
    op.drop_table("screening_refusals")
    with op.batch_alter_table("relying_parties") as batch:
        batch.drop_column("rate_per_minute")
