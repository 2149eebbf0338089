"""The subject's own file: proven by ID + a one-time code sent to the registered contact.

- :func:`request_code` sends a 6-digit code by email to the address on file. It answers the
  same whether or not the ID is known or has an address, so it cannot be used to learn who is
  in the registry; it is rate-limited per ID (``CODES_PER_HOUR``).
- :func:`open_session` trades a valid code (``CODE_TTL``, ``CODE_ATTEMPTS`` tries) for a
  session token (``SESSION_TTL``). Codes and tokens are stored only as SHA-256 digests.
- :func:`own_file` is everything about the subject: records, restrictions explained, notices,
  cases, scores where a pilot applies, every screening of them, and their audit entries. A
  legal representative may open the file of an enterprise they represent; nobody else's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import smtplib
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, insert, select, update

from socialcredit.domain.identity import parse_subject_id
from socialcredit.dueprocess.clock import naive_utc
from socialcredit.errors import Forbidden, RegistryError
from socialcredit.integrity import audit
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t
from socialcredit.store.tables_dueprocess import access_codes, access_sessions

CODES_PER_HOUR = 3
CODE_TTL = dt.timedelta(minutes=10)
CODE_ATTEMPTS = 5
SESSION_TTL = dt.timedelta(minutes=30)


class Unauthenticated(RegistryError):
    status = 401
    code = "unauthenticated"


class RateLimited(RegistryError):
    status = 429
    code = "rate_limited"


class DeliveryFailed(RegistryError):
    status = 503
    code = "delivery_failed"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def request_code(reg: Registry, raw_id: str) -> dict[str, Any]:
    sid = parse_subject_id(raw_id, "subject_id").value
    now = naive_utc(reg.now())
    with reg.engine.begin() as conn:
        recent = conn.execute(
            select(func.count())
            .select_from(access_codes)
            .where(
                access_codes.c.subject_id == sid,
                access_codes.c.created_at > now - dt.timedelta(hours=1),
            )
        ).scalar_one()
        if recent >= CODES_PER_HOUR:
            raise RateLimited(f"at most {CODES_PER_HOUR} codes an hour for one ID; try again later")
        email = conn.execute(
            select(t.subjects.c.contact_email).where(t.subjects.c.id == sid)
        ).scalar_one_or_none()
        code = f"{secrets.randbelow(10**6):06d}"
        # Unknown IDs and IDs without an address count against the limit too, and get the
        # same answer: the endpoint must not tell who is registered.
        conn.execute(
            insert(access_codes).values(
                subject_id=sid,
                code_hash=_digest(sid, code),
                created_at=now,
                expires_at=now + CODE_TTL,
                attempts=0,
            )
        )
        if email:
            _send_code(reg, email, code)
            audit.append(conn, reg.now(), "subject", "access.code_sent", subject_id=sid)
    return {
        "status": "sent if the ID has a registered contact",
        "expires_in_seconds": int(CODE_TTL.total_seconds()),
    }


def _send_code(reg: Registry, address: str, code: str) -> None:
    s = reg.settings
    msg = EmailMessage()
    msg["From"] = s.mail_from
    msg["To"] = address
    msg["Subject"] = "Your one-time code for your credit file"
    msg.set_content(
        f"Your one-time code is {code}. It is valid for {int(CODE_TTL.total_seconds() // 60)} "
        "minutes. If you did not ask for it, nobody can use it without your ID and this email."
    )
    try:
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as e:
        raise DeliveryFailed(f"the code could not be sent ({type(e).__name__}); try again") from e


def open_session(reg: Registry, raw_id: str, code: str) -> dict[str, Any]:
    sid = parse_subject_id(raw_id, "subject_id").value
    now = naive_utc(reg.now())
    c = access_codes.c
    wrong = False
    with reg.engine.begin() as conn:
        row = conn.execute(
            select(access_codes)
            .where(c.subject_id == sid, c.used_at.is_(None), c.expires_at > now)
            .order_by(c.id.desc())
            .limit(1)
        ).first()
        if row is None or row.attempts >= CODE_ATTEMPTS:
            raise Unauthenticated("no valid code for this ID: ask for a new one")
        wrong = not hmac.compare_digest(row.code_hash, _digest(sid, code.strip()))
        if wrong:  # count the failed try (committed), then refuse
            conn.execute(update(access_codes).where(c.id == row.id).values(attempts=c.attempts + 1))
    if wrong:
        raise Unauthenticated("the code is wrong or expired")
    with reg.engine.begin() as conn:
        used = conn.execute(
            update(access_codes).where(c.id == row.id, c.used_at.is_(None)).values(used_at=now)
        )
        if used.rowcount != 1:
            raise Unauthenticated("the code has already been used: ask for a new one")
        token = secrets.token_urlsafe(32)
        conn.execute(
            insert(access_sessions).values(
                token_hash=_digest(token),
                subject_id=sid,
                created_at=now,
                expires_at=now + SESSION_TTL,
            )
        )
        audit.append(conn, reg.now(), "subject", "access.session_opened", subject_id=sid)
    return {"token": token, "subject_id": sid, "expires_at": (now + SESSION_TTL).isoformat() + "Z"}


def session_subject(reg: Registry, token: str) -> str:
    """The subject a session token belongs to, or Unauthenticated."""
    if not token:
        raise Unauthenticated("sign in: POST /v1/me/code, then POST /v1/me/session")
    now = naive_utc(reg.now())
    with reg.engine.connect() as conn:
        row = conn.execute(
            select(access_sessions.c.subject_id).where(
                access_sessions.c.token_hash == _digest(token), access_sessions.c.expires_at > now
            )
        ).first()
    if row is None:
        raise Unauthenticated("the session is unknown or has expired: sign in again")
    return str(row.subject_id)


def may_see(reg: Registry, viewer: str, target: str) -> None:
    """A subject sees their own file, and a legal representative their enterprise's."""
    if viewer == target:
        return
    with reg.engine.connect() as conn:
        rep = conn.execute(
            select(t.subjects.c.legal_representative_id).where(t.subjects.c.id == target)
        ).scalar_one_or_none()
    if rep is None or rep != viewer:
        raise Forbidden("a subject may see only their own file (or their enterprise's)")


def screenings_of(reg: Registry, subject_id: str) -> list[dict[str, Any]]:
    from socialcredit.store.tables_screening import screening_log

    c = screening_log.c
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(
                c.screening_id,
                c.at,
                c.relying_party,
                c.sector,
                c.purpose,
                c.reference,
                c.decision,
                c.reason_code,
                c.rulepack_version,
            )
            .where(c.subject_id == subject_id)
            .order_by(c.at.desc())
        )
        return [
            {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in r._mapping.items()}
            for r in rows
        ]


def _scores(reg: Registry, subject_id: str) -> list[dict[str, Any]] | None:
    try:
        from socialcredit import scoring
    except ImportError:
        return None
    fn = getattr(scoring, "subject_scores", None)
    if fn is None:
        return None
    result: list[dict[str, Any]] = fn(reg, subject_id, reg.today())
    return result


def own_file(
    reg: Registry, viewer: str, raw_target: str | None, *, export: bool = False
) -> dict[str, Any]:
    from socialcredit.dueprocess.case_queue import list_cases
    from socialcredit.dueprocess.outbox import notices_for_subject
    from socialcredit.registry import subject_file

    target = parse_subject_id(raw_target, "subject_id").value if raw_target else viewer
    may_see(reg, viewer, target)
    d = subject_file(reg, target).to_dict()
    d["notices"] = notices_for_subject(reg, target)
    d["cases"] = list_cases(reg, subject_id=target)
    d["screenings"] = screenings_of(reg, target)
    d["scores"] = _scores(reg, target)
    d["audit"] = audit.entries_for_subject(reg.engine, target)
    audit.record(
        reg.engine,
        reg.now(),
        f"subject:{viewer}",
        "subject.file_exported" if export else "subject.file_read",
        subject_id=target,
    )
    return d
