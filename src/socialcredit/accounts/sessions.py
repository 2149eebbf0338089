"""Server-side sessions behind a signed cookie.

The cookie holds ``<random id>.<HMAC-SHA256 of it>``: 256 random bits, signed so a forged or
truncated cookie is refused before the database is asked. The table keeps only the id's
SHA-256. A session ends when idle for ``session_idle_minutes`` or ``session_max_hours`` after
it began, when its user signs out, is disabled, expires or has a credential reset. Signing in
always makes a *new* session (and deletes the one the browser had), so an id planted before
sign-in is worth nothing after it (session fixation).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from socialcredit.accounts.service import utcnow
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_accounts import account_keys, user_sessions

COOKIE = "sc_session"
ANONYMOUS_MINUTES = 60  # an anonymous session only carries the sign-in form's CSRF token
TOUCH_SECONDS = 60  # last_seen_at is written at most this often, not on every request


@dataclass(frozen=True)
class Session:
    raw_id: str  # only in memory and in the cookie
    user_id: int | None
    mfa_pending: bool
    csrf_token: str
    expires_at: dt.datetime

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None and not self.mfa_pending


def _digest(raw_id: str) -> str:
    return hashlib.sha256(raw_id.encode("ascii")).hexdigest()


_keys: dict[str, bytes] = {}


def signing_key(reg: Registry) -> bytes:
    """``SOCIALCREDIT_SESSION_SECRET``, else a key generated once and kept in the database so
    every worker and node signs alike."""
    if reg.settings.session_secret:
        return reg.settings.session_secret.encode("utf-8")
    url = str(reg.engine.url)
    key = _keys.get(url)
    if key is None:
        with reg.engine.begin() as conn:
            row = conn.execute(
                select(account_keys.c.value).where(account_keys.c.name == "session")
            ).first()
            if row is None:
                value = secrets.token_hex(32)
                conn.execute(insert(account_keys).values(name="session", value=value))
            else:
                value = row.value
        key = _keys[url] = value.encode("ascii")
    return key


def sign(reg: Registry, raw_id: str) -> str:
    mac = hmac.new(signing_key(reg), raw_id.encode("ascii"), hashlib.sha256).digest()
    return f"{raw_id}.{base64.urlsafe_b64encode(mac).decode('ascii').rstrip('=')}"


def unsign(reg: Registry, cookie: str) -> str | None:
    raw_id, _, mac = cookie.partition(".")
    if not raw_id or not mac or len(cookie) > 200:
        return None
    expected = sign(reg, raw_id).partition(".")[2]
    return raw_id if hmac.compare_digest(mac, expected) else None


def create(reg: Registry, *, user_id: int | None = None, mfa_pending: bool = False) -> Session:
    now = utcnow(reg)
    raw_id = secrets.token_urlsafe(32)
    s = reg.settings
    # Anonymous and half-signed-in (code still owed) sessions are short; signed-in ones last
    # at most session_max_hours, and less if idle.
    life = (
        dt.timedelta(hours=s.session_max_hours)
        if user_id is not None and not mfa_pending
        else dt.timedelta(minutes=ANONYMOUS_MINUTES)
    )
    session = Session(raw_id, user_id, mfa_pending, secrets.token_urlsafe(32), now + life)
    with reg.engine.begin() as conn:
        # Expired rows go as new ones come: the table holds only live sessions plus a few.
        conn.execute(delete(user_sessions).where(user_sessions.c.expires_at < now))
        conn.execute(
            insert(user_sessions).values(
                id_hash=_digest(raw_id),
                user_id=user_id,
                mfa_pending=mfa_pending,
                csrf_token=session.csrf_token,
                created_at=now,
                last_seen_at=now,
                expires_at=session.expires_at,
            )
        )
    return session


def load(reg: Registry, raw_id: str) -> Session | None:
    """The live session with this id, or ``None`` (unknown, idle too long, or past its end)."""
    now = utcnow(reg)
    c = user_sessions.c
    key = _digest(raw_id)
    with reg.engine.connect() as conn:
        r = conn.execute(select(user_sessions).where(c.id_hash == key)).first()
    if r is None:
        return None
    idle = dt.timedelta(minutes=reg.settings.session_idle_minutes)
    if now >= r.expires_at or now - r.last_seen_at >= idle:
        end(reg, raw_id)
        return None
    if (now - r.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        with reg.engine.begin() as conn:
            conn.execute(update(user_sessions).where(c.id_hash == key).values(last_seen_at=now))
    return Session(raw_id, r.user_id, bool(r.mfa_pending), r.csrf_token, r.expires_at)


def rotate(
    reg: Registry, old: Session | None, *, user_id: int, mfa_pending: bool = False
) -> Session:
    """A new session for ``user_id``; the old one (anonymous or half signed in) is deleted."""
    if old is not None:
        end(reg, old.raw_id)
    return create(reg, user_id=user_id, mfa_pending=mfa_pending)


def end(reg: Registry, raw_id: str) -> None:
    with reg.engine.begin() as conn:
        conn.execute(delete(user_sessions).where(user_sessions.c.id_hash == _digest(raw_id)))
