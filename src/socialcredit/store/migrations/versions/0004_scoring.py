"""Residences, score history, per-jurisdiction scoring switches and the rescoring cursor.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = ("scoring",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "residences",
        sa.Column("subject_id", sa.String(18), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("resident_since", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("subject_id", name="pk_residences"),
    )
    op.create_index("ix_residences_region_code", "residences", ["region_code"])
    op.create_table(
        "score_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.String(18), nullable=False),
        sa.Column("programme", sa.String(64), nullable=False),
        sa.Column("programme_version", sa.String(32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(16), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_score_history"),
    )
    op.create_index(
        "ix_score_history_subject_id_programme_as_of",
        "score_history",
        ["subject_id", "programme", "as_of"],
    )
    op.create_index("ix_score_history_programme_as_of", "score_history", ["programme", "as_of"])
    op.create_table(
        "scoring_switches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("programme", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scoring_switches"),
    )
    op.create_table(
        "scoring_cursor",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_change_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_scoring_cursor"),
    )


def downgrade() -> None:
    op.drop_table("scoring_cursor")
    op.drop_table("scoring_switches")
    op.drop_index("ix_score_history_programme_as_of", table_name="score_history")
    op.drop_index("ix_score_history_subject_id_programme_as_of", table_name="score_history")
    op.drop_table("score_history")
    op.drop_index("ix_residences_region_code", table_name="residences")
    op.drop_table("residences")
