"""Initial schema: authorities, subjects, batches, records, record events, calendars.

Records double as their listing events (see ``store/tables.py``).

Revision ID: 0001
Revises:
Create Date: 2026-04-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from socialcredit.store.tables import Money

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authorities",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_authorities"),
    )
    op.create_table(
        "subjects",
        sa.Column("id", sa.String(18), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("contact_email", sa.Text(), nullable=True),
        sa.Column("legal_representative_id", sa.String(18), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subjects"),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_batches"),
        sa.UniqueConstraint("sha256", name="uq_batches_sha256"),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("authority", sa.String(64), nullable=False),
        sa.Column("case_number", sa.String(128), nullable=False),
        sa.Column("category", sa.String(128), nullable=False),
        sa.Column("subject_id", sa.String(18), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_name", sa.Text(), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("amount_owed", Money(), nullable=True),
        sa.Column("extension_years", sa.Integer(), nullable=False),
        sa.Column("evidence_ref", sa.Text(), nullable=True),
        sa.Column("legal_representative_id", sa.String(18), nullable=True),
        sa.Column("legal_representative_name", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_records"),
        sa.ForeignKeyConstraint(
            ["authority"], ["authorities.code"], name="fk_records_authority_authorities"
        ),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name="fk_records_batch_id_batches"),
    )
    op.create_index(
        "uq_records_authority_case_number", "records", ["authority", "case_number"], unique=True
    )
    op.create_index("ix_records_subject_id", "records", ["subject_id"])
    op.create_index(
        "ix_records_legal_representative_id",
        "records",
        ["legal_representative_id"],
        sqlite_where=sa.text("legal_representative_id IS NOT NULL"),
        postgresql_where=sa.text("legal_representative_id IS NOT NULL"),
    )
    op.create_table(
        "record_events",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_record_events"),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name="fk_record_events_record_id_records"
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name="fk_record_events_batch_id_batches"
        ),
        sa.UniqueConstraint(
            "record_id", "fingerprint", name="uq_record_events_record_id_fingerprint"
        ),
    )
    # Every event in acceptance order, listings included, for readers that follow the log by
    # sequence number (WHERE seq > :cursor): a record row is its own listing.
    op.execute(
        "CREATE VIEW record_log AS "
        "SELECT id AS seq, id AS record_id, 'listed' AS type, decision_date AS event_date, "
        "NULL AS payload, NULL AS reason, batch_id FROM records "
        "UNION ALL "
        "SELECT id, record_id, type, event_date, payload, reason, batch_id FROM record_events"
    )
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year", name="pk_calendar_years"),
    )
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_calendar_days"),
        sa.ForeignKeyConstraint(
            ["year"], ["calendar_years.year"], name="fk_calendar_days_year_calendar_years"
        ),
    )
    op.create_index("ix_calendar_days_year", "calendar_days", ["year"])


def downgrade() -> None:
    op.drop_index("ix_calendar_days_year", table_name="calendar_days")
    op.drop_table("calendar_days")
    op.drop_table("calendar_years")
    op.execute("DROP VIEW record_log")
    op.drop_table("record_events")
    op.drop_index("ix_records_legal_representative_id", table_name="records")
    op.drop_index("ix_records_subject_id", table_name="records")
    op.drop_index("uq_records_authority_case_number", table_name="records")
    op.drop_table("records")
    op.drop_table("batches")
    op.drop_table("subjects")
    op.drop_table("authorities")
