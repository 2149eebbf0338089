"""Tables shared by screening, due process and the transparency report.

- ``relying_parties`` and ``api_keys``: who may screen which sectors (keys stored hashed).
- ``screening_log``: every screening, append-only. The subject reads their own entries; the
  report counts denials from it. Written in batches off the hot path.
- ``subject_changes``: an append-only change feed. Any service that changes what applies to a
  subject appends the subject's id here in the same transaction as the change; screening
  servers poll it (and on PostgreSQL are woken by NOTIFY) to patch their index.
- ``screening_refusals``: requests refused before any lookup (a sector the relying party does
  not serve, a revoked key): who asked for what, never an answer about the subject.

Migration ``0002b`` adds the rate limit, the refusals table, an index on ``subjects.created_at``
(screening servers pick up new subjects' names by it) and, on PostgreSQL, statement triggers
that NOTIFY ``socialcredit_changes`` when records, events or subject changes are appended.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Index, Integer, String, Table, Text

from socialcredit.store.tables import metadata, subjects

NOTIFY_CHANNEL = "socialcredit_changes"

relying_parties = Table(
    "relying_parties",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("sectors", JSON, nullable=False),  # list of sector codes it serves
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    # screenings per minute per API key; NULL: the server default
    Column("rate_per_minute", Integer, nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("relying_party", String(64), nullable=False, index=True),
    Column("key_prefix", String(16), nullable=False, unique=True),  # shown, for lookup
    Column("key_hash", String(128), nullable=False),  # scrypt/sha256 of the secret
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)

screening_log = Table(
    "screening_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("screening_id", String(36), nullable=False, unique=True),  # quoted by the subject
    Column("at", DateTime, nullable=False),  # UTC
    Column("relying_party", String(64), nullable=False),
    Column("subject_id", String(18), nullable=False),
    Column("sector", String(64), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("reference", Text, nullable=True),  # the relying party's transaction reference
    Column("decision", String(8), nullable=False),  # allow | deny
    Column("reason_code", String(128), nullable=True),
    Column("rulepack_version", String(32), nullable=False),
    Index("ix_screening_log_subject_id_at", "subject_id", "at"),
    Index("ix_screening_log_at", "at"),
)

subject_changes = Table(
    "subject_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(18), nullable=False),
    Column("at", DateTime, nullable=False),  # UTC
    Column("cause", String(32), nullable=False),  # ingest, objection, repair, ...
)

screening_refusals = Table(
    "screening_refusals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),  # UTC
    Column("relying_party", String(64), nullable=False),
    Column("key_prefix", String(16), nullable=False),
    Column("sector", String(64), nullable=False),
    Column("purpose", Text, nullable=True),
    Column("reference", Text, nullable=True),
    Column("reason", String(64), nullable=False),  # sector_not_served, ...
    # the ID a refused name check was about (0007): the subject sees it in their file
    Column("subject_id", String(18), nullable=True),
    Index("ix_screening_refusals_at", "at"),
    Index("ix_screening_refusals_subject_id_at", "subject_id", "at"),
)

# Alerts for the operator (0007): e.g. a relying party's name refusals spiking.
operator_alerts = Table(
    "operator_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),  # UTC
    Column("kind", String(64), nullable=False),
    Column("relying_party", String(64), nullable=True),
    Column("detail", Text, nullable=False),
    Index("ix_operator_alerts_at", "at"),
)

# New subjects' names reach the screening servers' name tables by this column.
Index("ix_subjects_created_at", subjects.c.created_at)
