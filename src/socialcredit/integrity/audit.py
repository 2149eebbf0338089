"""The audit trail: who did what to or read whose data, one row per act, each row a leaf of
the transparency log (kind ``audit``, the row's own fields) in the transaction of the act.

The rows stay because the subject's file and the staff pages read them; their protection is
the log's (issue 13): ``log verify`` recomputes each entry's leaf from its row and names an
entry edited or deleted, and signed heads and witnesses catch entries cut off the end or a
history rewritten and re-signed, which the old hash chain in ``prev_hash``/``hash`` could not
(recomputing every later hash, or cutting the end, left it "intact"); migration 0010 dropped
those columns. :func:`verify` is ``log verify``, and the chain's ``SEQ:HASH`` heads are
refused with a clear message.

Appends are serialised: on SQLite every writing transaction holds the write lock (BEGIN
IMMEDIATE); on PostgreSQL :func:`append` takes a transaction-level advisory lock (then the
log's, in that order, as everywhere).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from socialcredit.errors import InvalidInput
from socialcredit.integrity.store import log_rows
from socialcredit.integrity.verify import LogVerdict, verify_stored
from socialcredit.settings import Settings
from socialcredit.store.tables_dueprocess import audit_log

AUDIT_LOCK_KEY = 0x5C_A0_D1_7E


def canonical(details: dict[str, Any]) -> str:
    return json.dumps(
        details, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def append(
    conn: Connection,
    now: dt.datetime,
    actor: str,
    action: str,
    *,
    subject_id: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one entry inside the caller's (writing) transaction; return its sequence number."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({AUDIT_LOCK_KEY})")
    c = audit_log.c
    last = conn.execute(select(c.seq).order_by(c.seq.desc()).limit(1)).scalar()
    seq = 1 if last is None else int(last) + 1
    at = now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = canonical(details or {})
    conn.execute(
        insert(audit_log).values(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject_id=subject_id,
            target=target,
            details=body,
        )
    )
    log_rows(conn, "audit", [seq])
    return seq


def record(engine: Engine, now: dt.datetime, actor: str, action: str, **kw: Any) -> int:
    """Append one entry in a transaction of its own (for reads, which change nothing else)."""
    with engine.begin() as conn:
        return append(conn, now, actor, action, **kw)


RETIRED_HEAD = (
    "the audit chain's SEQ:HASH heads were retired: audit entries are leaves of the "
    "transparency log, checked against its signed heads (`socialcredit log verify`; keep "
    "`socialcredit log head` or GET /v1/log/head elsewhere, or run a witness: "
    "`socialcredit log monitor`)"
)


def verify(engine: Engine, settings: Settings, expect_head: str | None = None) -> LogVerdict:
    """The audit trail checked as what it now is, part of the transparency log: every leaf
    recomputed from its row (an audit entry edited or deleted is named) and every signed
    head checked. ``expect_head`` (an old chain head) is refused with a clear 422."""
    if expect_head is not None:
        raise InvalidInput.one("head", RETIRED_HEAD, expect_head)
    return verify_stored(engine, settings)


def entries_for_subject(engine: Engine, subject_id: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The subject's own entries: who read or changed their data, when, and why."""
    c = audit_log.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.seq, c.at, c.actor, c.action, c.target, c.details)
            .where(c.subject_id == subject_id)
            .order_by(c.seq.desc())
            .limit(limit)
        )
        return [
            {
                "seq": r.seq,
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "target": r.target,
                "details": json.loads(r.details),
            }
            for r in rows
        ]


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())
