"""The registry's tables, as SQLAlchemy Core metadata.

Records and record events are append-only: nothing here is ever updated or deleted, so a
subject's file can always be replayed. A record row is also its own listing event: its id is
the listing's sequence number, drawn from the same sequence as ``record_events.id``, and
``record_events`` holds only the later events (fulfilled, withdrawn, corrected, repaired).
That keeps a listing to one row and three index entries, which is what ingestion speed
depends on. The view ``record_log`` (migration 0001) is the whole log, listings included:
``SELECT ... FROM record_log WHERE seq > :cursor ORDER BY seq`` follows it by sequence number.

Alembic migrations (``store/migrations``) create these tables; ``metadata`` is the single
description both the migrations and the repositories use.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


class Money(TypeDecorator[Decimal]):
    """An exact decimal amount: NUMERIC(20, 2) on PostgreSQL, canonical text on SQLite.

    SQLite has no decimal type; NUMERIC affinity would turn ``12345678901234567.89`` into a
    rounded REAL, and a yuan owed is not something to round.
    """

    impl = Numeric(20, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(20, 2))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value))


authorities = Table(
    "authorities",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("categories", JSON, nullable=False),
)

subjects = Table(
    "subjects",
    metadata,
    Column("id", String(18), primary_key=True),  # normalised resident ID or credit code
    Column("kind", String(16), nullable=False),  # person | enterprise
    Column("name", Text, nullable=False),
    Column("birth_date", Date, nullable=True),
    Column("region_code", String(6), nullable=False),
    Column("contact_email", Text, nullable=True),
    Column("legal_representative_id", String(18), nullable=True),
    Column("created_at", DateTime, nullable=False),
)

batches = Table(
    "batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("received_at", DateTime, nullable=False),
    Column("lines", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
)

records = Table(
    "records",
    metadata,
    # The listing's sequence number (shared with record_events.id): acceptance order.
    # Rows are written by the ingest service only, batch_id and received_at say when.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("authority", String(64), ForeignKey("authorities.code"), nullable=False),
    Column("case_number", String(128), nullable=False),
    Column("category", String(128), nullable=False),
    Column("subject_id", String(18), nullable=False),
    Column("subject_kind", String(16), nullable=False),  # person | enterprise
    Column("subject_name", Text, nullable=False),
    Column("decision_date", Date, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("amount_owed", Money, nullable=True),
    Column("extension_years", Integer, nullable=False),
    Column("evidence_ref", Text, nullable=True),
    Column("legal_representative_id", String(18), nullable=True),
    Column("legal_representative_name", Text, nullable=True),
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=False),
    # Indexes, not constraints, so a bulk load into a small table may rebuild them at the
    # end of its transaction (store/sql.py); the unique index is rebuilt as unique.
    Index("uq_records_authority_case_number", "authority", "case_number", unique=True),
    Index(None, "subject_id"),
    # Few records name a legal representative: index only those (x = ? implies NOT NULL).
    Index(
        None,
        "legal_representative_id",
        sqlite_where=text("legal_representative_id IS NOT NULL"),
        postgresql_where=text("legal_representative_id IS NOT NULL"),
    ),
)

record_events = Table(
    "record_events",
    metadata,
    # The sequence number (shared with records.id): ties on event_date replay in this order.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False),
    Column("type", String(16), nullable=False),
    Column("event_date", Date, nullable=False),
    Column("payload", JSON, nullable=True),  # the full corrected record, for 'corrected' only
    Column("reason", Text, nullable=True),
    # sha256 of (type, event_date, reason, payload): the same event re-sent is a no-op.
    Column("fingerprint", String(64), nullable=False),
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=False),
    UniqueConstraint("record_id", "fingerprint"),
)

calendar_years = Table(
    "calendar_years",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("source", Text, nullable=False),
    Column("loaded_at", DateTime, nullable=False),
)

calendar_days = Table(
    "calendar_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("is_workday", Boolean, nullable=False),
    Column("year", Integer, ForeignKey("calendar_years.year"), nullable=False, index=True),
)
