"""Relying parties, API keys, the screening log and the subject change feed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = ("screening",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relying_parties",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sectors", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_relying_parties"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("relying_party", sa.String(64), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_prefix", name="uq_api_keys_key_prefix"),
    )
    op.create_index("ix_api_keys_relying_party", "api_keys", ["relying_party"])
    op.create_table(
        "screening_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("screening_id", sa.String(36), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("relying_party", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(18), nullable=False),
        sa.Column("sector", sa.String(64), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("reason_code", sa.String(128), nullable=True),
        sa.Column("rulepack_version", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_screening_log"),
        sa.UniqueConstraint("screening_id", name="uq_screening_log_screening_id"),
    )
    op.create_index("ix_screening_log_subject_id_at", "screening_log", ["subject_id", "at"])
    op.create_index("ix_screening_log_at", "screening_log", ["at"])
    op.create_table(
        "subject_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.String(18), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subject_changes"),
    )


def downgrade() -> None:
    op.drop_table("subject_changes")
    op.drop_index("ix_screening_log_at", table_name="screening_log")
    op.drop_index("ix_screening_log_subject_id_at", table_name="screening_log")
    op.drop_table("screening_log")
    op.drop_index("ix_api_keys_relying_party", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("relying_parties")
