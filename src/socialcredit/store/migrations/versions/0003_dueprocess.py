"""Due process: reviewers, cases, notices (outbox), subject access codes and the audit log.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = ("dueprocess",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviewers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("body", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(18), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reviewers"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.String(18), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("record_authority", sa.String(64), nullable=False),
        sa.Column("record_case_number", sa.String(128), nullable=False),
        sa.Column("grounds", sa.String(32), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("filed_by", sa.String(64), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("suspends_start", sa.Boolean(), nullable=False),
        sa.Column("parent_case_id", sa.Integer(), nullable=True),
        sa.Column("reviewer", sa.String(64), nullable=True),
        sa.Column("reviewer_body", sa.String(64), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("decision_reasons", sa.Text(), nullable=True),
        sa.Column("correction", sa.JSON(), nullable=True),
        sa.Column("commitment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
    )
    op.create_index("ix_cases_subject_id", "cases", ["subject_id"])
    op.create_index("ix_cases_open", "cases", ["decided_on", "due_on"])
    op.create_index("ix_cases_record", "cases", ["record_authority", "record_case_number"])
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.String(18), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("serving_authority", sa.String(64), nullable=True),
        sa.Column("subject_line", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(160), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("record_authority", sa.String(64), nullable=True),
        sa.Column("record_case_number", sa.String(128), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.UniqueConstraint("dedupe_key", name="uq_notices_dedupe_key"),
        sa.UniqueConstraint("message_id", name="uq_notices_message_id"),
    )
    op.create_index("ix_notices_subject_id", "notices", ["subject_id"])
    op.create_index("ix_notices_due", "notices", ["status", "next_attempt_at"])
    op.create_table(
        "notice_cursor",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_notice_cursor"),
    )
    op.create_table(
        "access_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.String(18), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_access_codes"),
    )
    op.create_index(
        "ix_access_codes_subject_id_created_at", "access_codes", ["subject_id", "created_at"]
    )
    op.create_table(
        "access_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(18), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_access_sessions"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(18), nullable=True),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_subject_id", "audit_log", ["subject_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_subject_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("access_sessions")
    op.drop_index("ix_access_codes_subject_id_created_at", table_name="access_codes")
    op.drop_table("access_codes")
    op.drop_table("notice_cursor")
    op.drop_index("ix_notices_due", table_name="notices")
    op.drop_index("ix_notices_subject_id", table_name="notices")
    op.drop_table("notices")
    op.drop_index("ix_cases_record", table_name="cases")
    op.drop_index("ix_cases_open", table_name="cases")
    op.drop_index("ix_cases_subject_id", table_name="cases")
    op.drop_table("cases")
    op.drop_table("reviewers")
