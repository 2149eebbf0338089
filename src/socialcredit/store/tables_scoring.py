"""Tables of the regional scoring pilots.

- ``residences``: where a person lives and since when (scoring eligibility needs both; the
  region in the resident ID is where the ID was issued, not where the person lives now).
  One row per subject: a move replaces it.
- ``score_history``: one row each time a subject's score or grade under a programme changed
  (or was first computed), as of a day. A subject reads how their score moved; switching a
  programme off deletes every row it produced.
- ``scoring_switches``: the operator's per-jurisdiction switch, audited. A programme the
  scoring pack enables can be switched off (and on again) here without editing the pack;
  one the pack disables stays off whatever this table says.
- ``scoring_cursor``: how far the incremental rescoring has read each change feed (records,
  record events, subject changes), one row per feed.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, DateTime, Index, Integer, String, Table, Text

from socialcredit.store.tables import metadata

residences = Table(
    "residences",
    metadata,
    Column("subject_id", String(18), primary_key=True),
    Column("region_code", String(6), nullable=False),
    Column("resident_since", Date, nullable=True),  # unknown: never eligible
    Index("ix_residences_region_code", "region_code"),
)

score_history = Table(
    "score_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(18), nullable=False),
    Column("programme", String(64), nullable=False),
    Column("programme_version", String(32), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("score", Integer, nullable=False),
    Column("grade", String(16), nullable=False),
    Column("computed_at", DateTime, nullable=False),  # UTC
    Index("ix_score_history_subject_id_programme_as_of", "subject_id", "programme", "as_of"),
    Index("ix_score_history_programme_as_of", "programme", "as_of"),
)

scoring_switches = Table(
    "scoring_switches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("programme", String(64), nullable=False),  # a programme id, or "*" for all
    Column("enabled", Boolean, nullable=False),
    Column("at", DateTime, nullable=False),  # UTC; the latest row per programme wins
    Column("reason", Text, nullable=False),
)

scoring_cursor = Table(
    "scoring_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_change_id", Integer, nullable=False),
)
