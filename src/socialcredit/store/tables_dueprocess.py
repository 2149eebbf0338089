"""Tables of due process: reviewers, cases, notices (the outbox), subject access and the audit log.

- ``cases``: objections, reconsiderations and repair applications, one row each, with the SLA
  deadline (``due_on``) fixed when filed from the rule pack's ``deadlines``. The transparency
  report reads ``kind``, ``filed_on``, ``due_on``, ``decided_on`` and ``outcome``.
- ``notices``: the outbox. A notice row is written in the same transaction as the change it
  reports; the delivery worker claims rows with a lease, sends them, and marks them. The
  ``dedupe_key`` is unique, so the same change can never queue two notices; ``message_id`` is
  fixed when queued, so a retry after a crash carries the same Message-ID.
- ``notice_cursor``: how far the notice planner has read ``record_events`` (records ingested
  by authorities get their notices from there, in a transaction of their own).
- ``access_codes`` and ``access_sessions``: one-time codes sent to a subject's registered
  contact and the short sessions they open (both stored hashed only).
- ``audit_log``: append-only, one row per act, each a leaf of the transparency log (its old
  hash chain, ``prev_hash``/``hash``, was dropped by migration 0010).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from socialcredit.store.tables import metadata

reviewers = Table(
    "reviewers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    # The body they decide for: an authority code (the listing court reviews objections to its
    # own listings) or "registry"; ``level`` "higher" marks reconsideration reviewers.
    Column("body", String(64), nullable=False),
    Column("level", String(16), nullable=False),  # first | higher
    Column("subject_id", String(18), nullable=True),  # their own resident ID: conflicts
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(18), nullable=False),
    Column("kind", String(16), nullable=False),  # objection | reconsideration | repair
    Column("record_authority", String(64), nullable=False),
    Column("record_case_number", String(128), nullable=False),
    # not_me | wrong_data | should_be_removed | rule_not_applicable | repair
    Column("grounds", String(32), nullable=False),
    Column("statement", Text, nullable=False),
    Column("documents", JSON, nullable=False),  # list of document references
    Column("filed_by", String(64), nullable=False),  # subject | representative | operator
    Column("filed_on", Date, nullable=False),
    Column("filed_at", DateTime, nullable=False),  # UTC
    Column("due_on", Date, nullable=False),  # SLA: decided at the latest on this day
    Column("suspends_start", Boolean, nullable=False),  # filed within the publicity period
    Column("parent_case_id", Integer, nullable=True),  # a reconsideration's objection
    Column("reviewer", String(64), nullable=True),
    Column("reviewer_body", String(64), nullable=True),
    Column("decided_on", Date, nullable=True),
    Column("decided_at", DateTime, nullable=True),
    Column("outcome", String(16), nullable=True),  # upheld | rejected
    Column("decision_reasons", Text, nullable=True),
    Column("correction", JSON, nullable=True),  # fields corrected by an upheld objection
    Column("commitment", Text, nullable=True),  # repair: the public credit commitment
    Index("ix_cases_subject_id", "subject_id"),
    Index("ix_cases_open", "decided_on", "due_on"),
    Index("ix_cases_record", "record_authority", "record_case_number"),
)

notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(18), nullable=False),
    Column("kind", String(32), nullable=False),  # listed, ended, corrected, objection_decided..
    Column("created_at", DateTime, nullable=False),  # UTC
    Column("channel", String(8), nullable=False),  # email | letter
    Column("status", String(16), nullable=False),  # queued | sent | delivered | failed
    Column("address", Text, nullable=True),  # the email address; None for a letter
    Column("serving_authority", String(64), nullable=True),  # who serves a letter
    Column("subject_line", Text, nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    Column("dedupe_key", String(160), nullable=False, unique=True),
    Column("message_id", String(255), nullable=False, unique=True),
    Column("record_authority", String(64), nullable=True),
    Column("record_case_number", String(128), nullable=True),
    Column("case_id", Integer, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", DateTime, nullable=True),
    Column("sent_at", DateTime, nullable=True),
    Column("delivered_at", DateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_notices_subject_id", "subject_id"),
    Index("ix_notices_due", "status", "next_attempt_at"),
)

notice_cursor = Table(
    "notice_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_event_id", Integer, nullable=False),
)

access_codes = Table(
    "access_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(18), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("used_at", DateTime, nullable=True),
    Index("ix_access_codes_subject_id_created_at", "subject_id", "created_at"),
)

access_sessions = Table(
    "access_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("subject_id", String(18), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # 1, 2, 3, ... no gaps
    Column("at", String(32), nullable=False),  # ISO UTC text: logged exactly as stored
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject_id", String(18), nullable=True),
    Column("target", Text, nullable=True),
    Column("details", Text, nullable=False),  # canonical JSON text: logged exactly as stored
    Index("ix_audit_log_subject_id", "subject_id"),
)

# Evidence a subject attaches to an objection (the citizen portal): the bytes themselves, kept
# with their SHA-256 so the subject and the reviewer can tell the file was not altered. Only
# the subject (or their enterprise's representative) and the case's reviewer may read it.
evidence = Table(
    "evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(18), nullable=False),
    Column("case_id", Integer, nullable=False),
    Column("filename", String(255), nullable=False),
    Column("media_type", String(32), nullable=False),  # application/pdf | image/jpeg | image/png
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("uploaded_at", DateTime, nullable=False),  # UTC
    Column("uploaded_by", String(64), nullable=False),
    Index("ix_evidence_case_id", "case_id"),
)
