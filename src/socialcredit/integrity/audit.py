"""The tamper-evident audit log: every write and every read of personal data, hash-chained.

Entry ``n`` stores ``hash_n = sha256(hash_{n-1} | n | at | actor | action | subject | target |
details)`` with ``hash_0`` = 64 zeros, and sequence numbers run 1, 2, 3 ... without gaps. So
editing any stored field breaks that entry's hash, deleting an entry breaks the sequence and
the next entry's ``prev_hash``, and :func:`verify` names the first entry that is wrong.

Appends are serialised: on SQLite every writing transaction holds the write lock (BEGIN
IMMEDIATE); on PostgreSQL :func:`append` takes a transaction-level advisory lock. An append is
part of the caller's transaction, so the entry exists exactly when the change it records does.

What the chain cannot see on its own is the newest entries being cut off the end; an operator
who keeps the head (``socialcredit audit head``) and passes it to ``verify`` closes that gap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from socialcredit.errors import InvalidInput
from socialcredit.store.tables_dueprocess import audit_log

GENESIS = "0" * 64
AUDIT_LOCK_KEY = 0x5C_A0_D1_7E


def canonical(details: dict[str, Any]) -> str:
    return json.dumps(
        details, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def entry_hash(
    prev: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    subject_id: str | None,
    target: str | None,
    details: str,
) -> str:
    h = hashlib.sha256()
    for part in (prev, str(seq), at, actor, action, subject_id or "", target or "", details):
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


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
    last = conn.execute(select(c.seq, c.hash).order_by(c.seq.desc()).limit(1)).first()
    seq = 1 if last is None else int(last.seq) + 1
    prev = GENESIS if last is None else str(last.hash)
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
            prev_hash=prev,
            hash=entry_hash(prev, seq, at, actor, action, subject_id, target, body),
        )
    )
    return seq


def record(engine: Engine, now: dt.datetime, actor: str, action: str, **kw: Any) -> int:
    """Append one entry in a transaction of its own (for reads, which change nothing else)."""
    with engine.begin() as conn:
        return append(conn, now, actor, action, **kw)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": f"{self.head_seq}:{self.head_hash}",
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


def _rows(conn: Connection) -> Iterator[Any]:
    yield from conn.execution_options(yield_per=10_000).execute(
        select(audit_log).order_by(audit_log.c.seq)
    )


def verify(engine: Engine, expect_head: str | None = None) -> Verdict:
    """Walk the chain from the start; stop at the first entry altered, missing or out of place.

    ``expect_head`` ("SEQ:HASH", as printed by ``audit head``) also catches entries cut off the
    end after that head was taken.
    """
    prev, expected, n = GENESIS, 1, 0
    with engine.connect() as conn:
        for r in _rows(conn):
            if r.seq != expected:
                missing = f"{expected}" if r.seq == expected + 1 else f"{expected}-{r.seq - 1}"
                return Verdict(
                    False, n, expected - 1, prev, expected, f"entry {missing} is missing"
                )
            if r.prev_hash != prev:
                return Verdict(
                    False,
                    n,
                    expected - 1,
                    prev,
                    r.seq,
                    f"entry {r.seq} does not follow entry {r.seq - 1}: the chain was re-linked",
                )
            h = entry_hash(
                r.prev_hash, r.seq, r.at, r.actor, r.action, r.subject_id, r.target, r.details
            )
            if h != r.hash:
                return Verdict(
                    False,
                    n,
                    expected - 1,
                    prev,
                    r.seq,
                    f"entry {r.seq} was altered: its content does not match its hash",
                )
            prev, expected, n = r.hash, expected + 1, n + 1
    head_seq = expected - 1
    if expect_head:
        want_seq_s, _, want_hash = expect_head.partition(":")
        if not (want_seq_s.isascii() and want_seq_s.isdigit() and len(want_seq_s) <= 18):
            raise InvalidInput.one("head", "SEQ:HASH as printed by `audit head`", expect_head[:80])
        want_seq = int(want_seq_s)
        if head_seq < want_seq:
            return Verdict(
                False,
                n,
                head_seq,
                prev,
                head_seq + 1,
                f"entries {head_seq + 1}-{want_seq} are missing",
            )
        with engine.connect() as conn:
            at = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == want_seq)).first()
        if at is None or at.hash != want_hash:
            return Verdict(
                False, n, head_seq, prev, want_seq, f"entry {want_seq} is not the head kept"
            )
    return Verdict(True, n, head_seq, prev)


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
