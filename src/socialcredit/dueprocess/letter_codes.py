"""One-time sign-in codes printed in letters, for subjects without a registered address.

A letter code is an ordinary access code (``access_codes``, stored only as its digest, traded
by :func:`subject_access.open_session` like the emailed ones) that lives long enough for the
post: ``LETTER_CODE_TTL``. Five wrong tries spend the code, not the owner: a new code by email,
or the next letter, still works.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, insert

from socialcredit.dueprocess.clock import naive_utc
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_dueprocess import access_codes

LETTER_CODE_TTL = dt.timedelta(days=60)


def _digest(subject_id: str, code: str) -> str:
    # subject_access._digest's form (not imported: subject_access reads the outbox, which
    # issues these). tests/integration/test_portal.py signs in with a letter code.
    return hashlib.sha256(f"{subject_id}\x1f{code}".encode()).hexdigest()


def issue(conn: Connection, reg: Registry, subject_id: str) -> str:
    """A new code for ``subject_id`` in the caller's transaction; the plain code, to print."""
    code = f"{secrets.randbelow(10**6):06d}"
    now = naive_utc(reg.now())
    conn.execute(
        insert(access_codes).values(
            subject_id=subject_id,
            code_hash=_digest(subject_id, code),
            created_at=now,
            expires_at=now + LETTER_CODE_TTL,
            attempts=0,
        )
    )
    return code
