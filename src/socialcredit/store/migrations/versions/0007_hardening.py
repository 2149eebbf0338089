"""Hardening: refused name checks carry the subject's ID; operator alerts.

Revision ID: 0007
Revises: 0002b
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0002b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A name refused for an ID is a look at that subject: they must see it in their file.
    op.add_column("screening_refusals", sa.Column("subject_id", sa.String(18), nullable=True))
    op.create_index(
        "ix_screening_refusals_subject_id_at", "screening_refusals", ["subject_id", "at"]
    )
    op.create_table(
        "operator_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("relying_party", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_operator_alerts"),
    )
    op.create_index("ix_operator_alerts_at", "operator_alerts", ["at"])


def downgrade() -> None:
    op.drop_index("ix_operator_alerts_at", table_name="operator_alerts")
    op.drop_table("operator_alerts")
    op.drop_index("ix_screening_refusals_subject_id_at", table_name="screening_refusals")
    with op.batch_alter_table("screening_refusals") as batch:
        batch.drop_column("subject_id")
