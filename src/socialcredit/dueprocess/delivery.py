"""Delivering notices: the mail worker for email, the serving authority for letters.

Delivery (:func:`deliver_due`): the worker claims due email notices with a lease (committed
before it connects), sends each over SMTP with the Message-ID fixed at queueing, and marks it
delivered in a second transaction. A worker killed before the server's final reply leaves the
claim to expire and the notice is sent again, once; the only window for a second copy is a
kill between the server's 250 and our commit, and that copy carries the same Message-ID, so
the receiving side (and our mail catcher) recognise it. Failures are retried with backoff; after
``MAX_ATTEMPTS`` the notice is marked failed and a letter is queued instead.

Letters are printed and served by the record's authority, which records each step
(:func:`mark_letter`). :func:`run_worker` plans (:func:`dueprocess.outbox.plan`) and
delivers until stopped.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import select, update

from socialcredit.dueprocess.clock import naive_utc
from socialcredit.dueprocess.outbox import get_notice, notice_dict, plan, queue_letter_copy
from socialcredit.integrity import audit, log_rows
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_dueprocess import notices

MAX_ATTEMPTS = 5
LEASE = dt.timedelta(minutes=5)


def _claim(reg: Registry, worker: str, batch: int) -> list[Any]:
    now = naive_utc(reg.now())
    c = notices.c
    with reg.engine.begin() as conn:
        q = (
            select(c.id)
            .where(
                c.channel == "email",
                c.status == "queued",
                c.next_attempt_at <= now,
                (c.claimed_until.is_(None)) | (c.claimed_until < now),
            )
            .order_by(c.id)
            .limit(batch)
        )
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        ids = [int(i) for i in conn.execute(q).scalars()]
        if not ids:
            return []
        conn.execute(
            update(notices)
            .where(c.id.in_(ids))
            .values(claimed_by=worker, claimed_until=now + LEASE, attempts=c.attempts + 1)
        )
        return list(conn.execute(select(notices).where(c.id.in_(ids)).order_by(c.id)))


def email_message(reg: Registry, n: Any) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = reg.settings.mail_from
    msg["To"] = n.address
    msg["Subject"] = n.subject_line
    msg["Message-ID"] = n.message_id
    msg["Date"] = format_datetime(n.created_at.replace(tzinfo=dt.UTC))
    msg["X-Notice-Id"] = str(n.id)
    msg.set_content(n.body_text)
    msg.add_alternative(n.body_html, subtype="html")
    return msg


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def deliver_due(reg: Registry, worker: str, batch: int = 50) -> dict[str, int]:
    """One pass of the worker: claim due email notices, send them, record the outcome."""
    done = {"delivered": 0, "retry": 0, "failed": 0}
    claimed = _claim(reg, worker, batch)
    if not claimed:
        return done
    s = reg.settings
    smtp: smtplib.SMTP | None = None
    try:
        for n in claimed:
            error: str | None = None
            try:
                if smtp is None:
                    smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30)
                smtp.send_message(email_message(reg, n))
            except (smtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                if smtp is not None:
                    try:
                        smtp.close()
                    finally:
                        smtp = None
            _settle(reg, n, worker, error, done)
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    return done


def _settle(reg: Registry, n: Any, worker: str, error: str | None, done: dict[str, int]) -> None:
    now = reg.now()
    c = notices.c
    mine = (c.id == n.id) & (c.claimed_by == worker)
    with reg.engine.begin() as conn:
        if error is None:
            conn.execute(
                update(notices)
                .where(mine)
                .values(
                    status="delivered",
                    sent_at=naive_utc(now),
                    delivered_at=naive_utc(now),
                    claimed_by=None,
                    claimed_until=None,
                    last_error=None,
                )
            )
            log_rows(conn, "notice", [n.id])
            audit.append(
                conn,
                now,
                worker,
                "notice.delivered",
                subject_id=n.subject_id,
                target=f"notice:{n.id}",
                details={"channel": "email", "message_id": n.message_id},
            )
            done["delivered"] += 1
            return
        if n.attempts >= MAX_ATTEMPTS:
            conn.execute(
                update(notices)
                .where(mine)
                .values(status="failed", claimed_by=None, claimed_until=None, last_error=error)
            )
            log_rows(conn, "notice", [n.id])
            queue_letter_copy(conn, reg, n)
            audit.append(
                conn,
                now,
                worker,
                "notice.failed",
                subject_id=n.subject_id,
                target=f"notice:{n.id}",
                details={"error": error, "attempts": n.attempts, "fallback": "letter"},
            )
            done["failed"] += 1
            return
        conn.execute(
            update(notices)
            .where(mine)
            .values(
                next_attempt_at=naive_utc(now + _backoff(n.attempts)),
                claimed_by=None,
                claimed_until=None,
                last_error=error,
            )
        )
        done["retry"] += 1


def run_worker(
    reg: Registry,
    worker: str,
    *,
    once: bool = False,
    idle: float = 0.5,
    max_loops: int | None = None,
    each_round: Callable[[], object] | None = None,
) -> dict[str, int]:
    """Plan and deliver until stopped (or one pass with ``once``); returns the totals.
    ``each_round`` runs after every round (the CLI's worker signs log heads there)."""
    import time

    totals = {"queued": 0, "delivered": 0, "retry": 0, "failed": 0}
    loops = 0
    while True:
        loops += 1
        if loops > 1 and each_round is not None:
            each_round()
        queued = plan(reg)
        got = deliver_due(reg, worker)
        totals["queued"] += queued
        for k, v in got.items():
            totals[k] += v
        busy = queued or any(got.values())
        if once and not busy:
            if each_round is not None:
                each_round()
            return totals
        if max_loops is not None and loops >= max_loops:
            return totals
        if not busy:
            time.sleep(idle)


def mark_letter(reg: Registry, notice_id: int, status: str, actor: str) -> dict[str, Any]:
    """An authority printed (``sent``) or served (``delivered``) a letter."""
    from socialcredit.errors import Conflict, InvalidInput

    if status not in ("sent", "delivered"):
        raise InvalidInput.one("status", "must be sent or delivered", status)
    n = get_notice(reg, notice_id)
    if n.channel != "letter":
        raise Conflict(f"notice {notice_id} is an email; its worker records delivery")
    now = reg.now()
    values: dict[str, Any] = {"status": status, "sent_at": n.sent_at or naive_utc(now)}
    if status == "delivered":
        values["delivered_at"] = naive_utc(now)
    with reg.engine.begin() as conn:
        conn.execute(update(notices).where(notices.c.id == notice_id).values(**values))
        log_rows(conn, "notice", [notice_id])
        audit.append(
            conn,
            now,
            actor,
            f"letter.{status}",
            subject_id=n.subject_id,
            target=f"notice:{notice_id}",
        )
    return notice_dict(get_notice(reg, notice_id))
