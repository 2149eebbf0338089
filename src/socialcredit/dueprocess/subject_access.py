"""The subject's own file: proven by ID + a one-time code sent to the registered contact.

- :func:`request_code` queues a 6-digit code in the notices outbox for the address on file.
  It answers the same, in the same time, whether or not the ID is known or has an address, so
  it cannot be used to learn who is in the registry; it is limited per client address and per
  (client, ID), so nobody can lock an owner out by asking for their codes.
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
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from socialcredit.domain.identity import parse_subject_id
from socialcredit.domain.normalise import normalise_identifier
from socialcredit.dueprocess.clock import naive_utc
from socialcredit.errors import Forbidden, RateLimited, RegistryError
from socialcredit.integrity import audit, latest_head, log_place
from socialcredit.runtime.limits import budget
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t
from socialcredit.store.tables_dueprocess import access_codes, access_sessions

CODES_PER_ID_PER_HOUR = 10  # mail to one address, from all clients together
CODE_TTL = dt.timedelta(minutes=10)
CODE_ATTEMPTS = 5
SESSION_TTL = dt.timedelta(minutes=30)


class Unauthenticated(RegistryError):
    status = 401
    code = "unauthenticated"


class DeliveryFailed(RegistryError):
    status = 503
    code = "delivery_failed"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def request_code(reg: Registry, raw_id: str, client: str = "local") -> dict[str, Any]:
    """Queue a one-time code for the ID's registered address (the notices outbox sends it).

    The answer is the same, and costs the same work, whether or not the ID is known or has an
    address: no SMTP in the request (its time told who is registered). Limits are per client
    address and per (client, ID), so a stranger spends their own budget, never the owner's;
    past ``CODES_PER_ID_PER_HOUR`` for one ID (a mail bomb from many addresses) the answer is
    unchanged and no more mail is sent that hour, but the newest code mailed stays valid until
    a new one can be sent (:func:`_hold_newest_code`), so the owner is not locked out.
    """
    s = reg.settings
    sid = parse_subject_id(normalise_identifier(raw_id), "subject_id").value
    for name, rate, keys in (
        ("code-client", s.code_requests_per_client, (client,)),
        ("code-client-id", s.code_requests_per_client_id, (client, sid)),
    ):
        wait = budget(reg, name, rate).spend(*keys)
        if wait is not None:
            raise RateLimited(
                f"too many code requests from this client ({rate}); try again later", wait
            )
    now = naive_utc(reg.now())
    hour_ago = now - dt.timedelta(hours=1)
    with reg.engine.begin() as conn:
        recent = conn.execute(
            select(func.count())
            .select_from(access_codes)
            .where(access_codes.c.subject_id == sid, access_codes.c.created_at > hour_ago)
        ).scalar_one()
        email = conn.execute(
            select(t.subjects.c.contact_email).where(t.subjects.c.id == sid)
        ).scalar_one_or_none()
        if recent < CODES_PER_ID_PER_HOUR:
            code = f"{secrets.randbelow(10**6):06d}"
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
                _queue_code(conn, reg, sid, code)
                audit.append(conn, reg.now(), "subject", "access.code_sent", subject_id=sid)
        if recent + 1 >= CODES_PER_ID_PER_HOUR:
            _hold_newest_code(conn, sid, hour_ago)
    return {
        "status": "sent if the ID has a registered contact",
        "expires_in_seconds": int(CODE_TTL.total_seconds()),
    }


def _hold_newest_code(conn: Connection, sid: str, hour_ago: dt.datetime) -> None:
    """At the hourly mail ceiling, keep the newest unused code alive until a new one can be
    mailed (the hour's oldest code ages out), plus the usual time to type it.

    Strangers asking from many addresses can fill the ID's hourly ceiling; without this the
    codes they had sent to the owner expired after ``CODE_TTL`` and the owner could get no
    other for the rest of the hour. Only the newest is held, so the live codes a guesser can
    hit stay few; it is the one at the top of the owner's mailbox.
    """
    c = access_codes.c
    in_hour = (c.subject_id == sid, c.created_at > hour_ago)
    oldest = conn.execute(select(func.min(c.created_at)).where(*in_hour)).scalar_one()
    newest = conn.execute(
        select(c.id, c.expires_at)
        .where(*in_hour, c.used_at.is_(None), c.attempts < CODE_ATTEMPTS)
        .order_by(c.id.desc())
        .limit(1)
    ).one_or_none()
    if oldest is None or newest is None:
        return
    hold = oldest + dt.timedelta(hours=1) + CODE_TTL
    if newest.expires_at < hold:
        conn.execute(update(access_codes).where(c.id == newest.id).values(expires_at=hold))


def _queue_code(conn: Connection, reg: Registry, sid: str, code: str) -> None:
    from socialcredit.dueprocess.letters import Letter
    from socialcredit.dueprocess.outbox import queue

    minutes = int(CODE_TTL.total_seconds() // 60)
    # Chinese first, with the English beside it: the code is what the reader needs, in either.
    letter = Letter("您的信用档案一次性验证码 / Your one-time code for your credit file")
    letter.add(
        "一次性验证码 / One-time code",
        f"您的一次性验证码是 {code}，{minutes} 分钟内有效。",
        f"Your one-time code is {code}. It is valid for {minutes} minutes.",
    )
    letter.add(
        "如果不是您本人申请 / If you did not ask for it",
        "没有您的身份证号码和本邮件，任何人都无法使用此验证码，您无需处理。",
        "Nobody can use it without your ID and this email; you need do nothing.",
    )
    key = f"access_code:{sid}:{secrets.token_hex(8)}"
    queue(conn, reg, subject_id=sid, kind="access_code", letter=letter, dedupe_key=key,
          channel="email")  # fmt: skip


def open_session(reg: Registry, raw_id: str, code: str, client: str = "local") -> dict[str, Any]:
    """Trade a code for a session. Tries are limited per client address (a stranger's wrong
    guesses cost the stranger) and per code (``CODE_ATTEMPTS``, against guessing from many
    addresses); any live code of the ID is accepted, so a stranger asking for new codes does
    not void the one the owner is typing."""
    sid = parse_subject_id(normalise_identifier(raw_id), "subject_id").value
    wait = budget(reg, "code-check", reg.settings.code_checks_per_client).spend(client)
    if wait is not None:
        raise RateLimited("too many code checks from this client; try again later", wait)
    now = naive_utc(reg.now())
    c = access_codes.c
    with reg.engine.begin() as conn:
        live = conn.execute(
            select(access_codes)
            .where(
                c.subject_id == sid,
                c.used_at.is_(None),
                c.expires_at > now,
                c.attempts < CODE_ATTEMPTS,
            )
            .order_by(c.id.desc())
            .limit(CODES_PER_ID_PER_HOUR)
        ).all()
        if not live:
            raise Unauthenticated("no valid code for this ID: ask for a new one")
        want = _digest(sid, code.strip())
        row = next((r for r in live if hmac.compare_digest(r.code_hash, want)), None)
        if row is None:  # count the failed try against the newest code (committed)
            conn.execute(
                update(access_codes).where(c.id == live[0].id).values(attempts=c.attempts + 1)
            )
    if row is None:
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


def refused_checks_of(reg: Registry, subject_id: str) -> list[dict[str, Any]]:
    """Screenings of this subject refused before any answer (a name that did not match, the
    party's budget of failed name checks spent): who tried, when, and why."""
    from socialcredit.store.tables_screening import screening_refusals

    c = screening_refusals.c
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(c.at, c.relying_party, c.sector, c.purpose, c.reference, c.reason)
            .where(c.subject_id == subject_id)
            .order_by(c.at.desc())
            .limit(10_000)
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


def _log_places(reg: Registry, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Each record's leaf in the transparency log (and its events'), set on the record as
    ``log``, and the latest signed head: what the subject checks with ``log prove``."""
    r, e = t.records.c, t.record_events.c
    with reg.engine.connect() as conn:
        head = latest_head(conn)
        for rec in records:
            rid = conn.execute(
                select(r.id).where(
                    r.authority == rec["authority"], r.case_number == rec["case_number"]
                )
            ).scalar()
            if rid is None:
                continue
            place = log_place(conn, "record", int(rid), head)
            rec["log"] = None if place is None else place.to_dict()
            events = conn.execute(select(e.id).where(e.record_id == rid).order_by(e.id))
            rec["log_events"] = [
                p.to_dict()
                for p in (log_place(conn, "record_event", int(i), head) for i in events.scalars())
                if p is not None
            ]
    return {
        "key": "/v1/log/key",
        "head": None if head is None else head.to_dict(),
        "how_to_check": "GET /v1/log/proof/inclusion?leaf=LEAF (or `socialcredit log prove "
        "LEAF`) and check it against the head's root and the published key",
    }


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
    d["refused_screenings"] = refused_checks_of(reg, target)
    d["scores"] = _scores(reg, target)
    d["audit"] = audit.entries_for_subject(reg.engine, target)
    d["transparency_log"] = _log_places(reg, d["records"])
    audit.record(
        reg.engine,
        reg.now(),
        f"subject:{viewer}",
        "subject.file_exported" if export else "subject.file_read",
        subject_id=target,
    )
    return d
