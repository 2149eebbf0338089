"""Tables of staff accounts (``socialcredit.accounts``).

- ``users``: one row per staff member. ``role`` is one of operator, clerk, reviewer, official,
  party_clerk; the scope columns say what the role may touch (a clerk's authority, a reviewer's
  body and level, a party clerk's relying party) and are empty for the other roles. Only hashes
  are stored: the password as Argon2id, the API token as SHA-256 (it is 256 random bits, so a
  slow hash adds nothing). ``totp_last_step`` refuses a second use of the same one-time code.
  A user is never deleted (the audit log names them): ``disabled_at`` and ``expires_at`` end
  every session and token at once.
- ``user_sessions``: server-side sessions. The cookie carries a random id (signed); the table
  keeps only its SHA-256, so a copy of the table cannot be replayed as cookies. A session
  without ``user_id`` is an anonymous one (it carries the CSRF token of the sign-in form);
  ``mfa_pending`` marks one whose password was right and whose one-time code is still owed.
- ``account_keys``: named secrets the accounts code generates once and every worker shares
  (the cookie-signing key when ``SOCIALCREDIT_SESSION_SECRET`` is unset).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from socialcredit.store.tables import metadata

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("authority", String(64), nullable=True),  # clerk
    Column("review_body", String(64), nullable=True),  # reviewer
    Column("review_level", String(16), nullable=True),  # reviewer: first | higher
    Column("party", String(64), nullable=True),  # party_clerk
    Column("password_hash", Text, nullable=False),
    Column("must_change_password", Boolean, nullable=False),
    Column("totp_secret", String(64), nullable=True),  # set while enrolling or enrolled
    Column("totp_enabled", Boolean, nullable=False),
    Column("totp_last_step", Integer, nullable=True),
    Column("api_token_hash", String(64), nullable=True, unique=True),
    Column("api_token_created_at", DateTime, nullable=True),  # UTC
    Column("created_at", DateTime, nullable=False),  # UTC
    Column("created_by", String(128), nullable=False),
    Column("expires_at", DateTime, nullable=True),  # UTC; the account ends then
    Column("disabled_at", DateTime, nullable=True),  # UTC
)

user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("mfa_pending", Boolean, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),  # UTC
    Column("last_seen_at", DateTime, nullable=False),  # UTC
    Column("expires_at", DateTime, nullable=False),  # UTC, absolute
    Index("ix_user_sessions_user_id", "user_id"),
    Index("ix_user_sessions_expires_at", "expires_at"),
)

account_keys = Table(
    "account_keys",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", String(128), nullable=False),
)
