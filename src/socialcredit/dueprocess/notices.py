"""Notices to subjects: composed, queued in the outbox, delivered by email or served as letters.

Where notices come from:

- changes made by due process (objection filed or decided, repair) queue their notice in the
  same transaction as the change (:func:`queue`);
- records and events accepted from authorities are noticed by the **planner**
  (:func:`plan`), which reads ``record_events`` past a stored cursor and queues one notice per
  event, moving the cursor in the same transaction. The event row is the durable trigger, so
  a crash before planning loses nothing; the unique ``dedupe_key`` (``event:<id>``) means an
  event is never noticed twice, even when a case already queued the notice for its own event.

Delivery (:func:`deliver_due`): the worker claims due email notices with a lease (committed
before it connects), sends each over SMTP with the Message-ID fixed at queueing, and marks it
delivered in a second transaction. A worker killed before the server's final reply leaves the
claim to expire and the notice is sent again, once; the only window for a second copy is a
kill between the server's 250 and our commit, and that copy carries the same Message-ID, so
the receiving side (and our mail catcher) recognise it. Failures are retried with backoff; after
``MAX_ATTEMPTS`` the notice is marked failed and a letter is queued instead. A subject with no
registered email gets a letter, queued for the record's authority to serve.
"""

from __future__ import annotations

import datetime as dt
import html
import smtplib
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import Connection, literal, null, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from socialcredit.domain.dueprocess import add_months
from socialcredit.domain.restrictions import Assessment, Restriction, Status
from socialcredit.dueprocess import audit
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t
from socialcredit.store.tables_dueprocess import notice_cursor, notices

MAX_ATTEMPTS = 5
LEASE = dt.timedelta(minutes=5)
PLAN_LOCK_KEY = 0x5C_40_71_CE
CURSOR = "record_events"


def _naive(ts: dt.datetime) -> dt.datetime:
    return ts.astimezone(dt.UTC).replace(tzinfo=None)


@dataclass
class Letter:
    """A notice's content as titled sections, rendered to plain text and to printable HTML."""

    subject_line: str
    greeting: str
    sections: list[tuple[str, list[str]]] = field(default_factory=list)

    def add(self, title: str, *lines: str) -> None:
        self.sections.append((title, [x for x in lines if x]))

    def text(self) -> str:
        out = [self.greeting, ""]
        for title, lines in self.sections:
            out.append(title)
            out.extend(f"  {x}" for x in lines)
            out.append("")
        out.append("National public credit information registry")
        return "\n".join(out)

    def html(self) -> str:
        e = html.escape
        parts = [
            "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
            f"<title>{e(self.subject_line)}</title>",
            "<style>body{font-family:serif;max-width:42em;margin:2em auto;line-height:1.5}"
            "h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.4em}"
            "@media print{body{margin:1cm}}</style></head><body>",
            f"<h1>{e(self.subject_line)}</h1><p>{e(self.greeting)}</p>",
        ]
        for title, lines in self.sections:
            parts.append(f"<h2>{e(title)}</h2><ul>")
            parts.extend(f"<li>{e(x)}</li>" for x in lines)
            parts.append("</ul>")
        parts.append("<p>National public credit information registry</p></body></html>")
        return "".join(parts)


def _sector_name(reg: Registry, code: str) -> str:
    s = reg.pack.sectors.get(code)
    return f"{s.name} ({code})" if s else code


def measure_lines(reg: Registry, rs: list[Restriction]) -> list[str]:
    out = []
    for r in rs:
        if r.suspended:
            when = "not in force: held by your objection until it is decided"
        else:
            until = r.end.isoformat() if r.end else (r.until_condition or "")
            when = f"{r.status.value}, from {r.start.isoformat()} until {until}"
        out.append(f"{_sector_name(reg, r.sector)}: {r.description} - {when}")
    return out or ["No measure follows from this record now."]


def record_letter(
    reg: Registry, name: str, assessment: Assessment, authority: str, case_number: str, what: str
) -> Letter:
    """A notice about one record: what, who, basis, measures and dates, objection, repair."""
    ref = f"{authority}/{case_number}"
    listing = next((x for x in assessment.listings if str(x.ref) == ref), None)
    rs = [r for r in assessment.restrictions if any(str(x) == ref for x in r.records)]
    cat = reg.pack.categories.get(listing.category) if listing else None
    letter = Letter(f"Notice on record {ref}: {what}", f"Dear {name or 'subject'},", [])
    letter.add(
        "What was recorded",
        f"Record {case_number} of authority {authority}"
        + (f": {cat.name}" if cat else "")
        + (f", decided on {listing.decision_date.isoformat()}" if listing else ""),
        f"Legal basis: {listing.legal_basis}" if listing else "",
        f"What changed: {what}",
    )
    letter.add("Measures that follow", *measure_lines(reg, rs))
    lines = [
        "You may object at any time: the record should not concern you, its data are wrong, it "
        "should already have been removed, or the rule does not apply to you (for example you "
        "were a minor). Sign in to your file (POST /v1/me/code, then POST /v1/me/objections) or "
        "write to the registry.",
        f"An objection is decided within {reg.pack.objection_days} days; a rejection can be "
        f"taken to reconsideration within {reg.pack.reconsideration_filing_days} days.",
    ]
    if listing and listing.publicity_ends and listing.status is Status.PENDING:
        lines.append(
            f"Objections filed by {listing.publicity_ends.isoformat()} (the end of the publicity "
            "period) hold the start of the restriction until they are decided."
        )
    if listing and listing.weekday_only_years:
        lines.append(
            f"Dates in {sorted(listing.weekday_only_years)} count weekdays only: the official "
            "calendar for that year has not been loaded."
        )
    letter.add("How to object, and by when", *lines)
    if cat and cat.repairable and listing:
        earliest = add_months(listing.decision_date, cat.term.min_publication_months)
        letter.add(
            "Credit repair",
            f"Once the obligations are met, you may apply for credit repair from "
            f"{earliest.isoformat()} with a public credit commitment (POST /v1/me/repairs).",
        )
    elif cat and cat.ends_on_fulfilment:
        letter.add(
            "How it ends",
            "Performing the obligation ends the measures on the day the authority reports it.",
        )
    return letter


def _insert_ignore(conn: Connection, values: dict[str, Any]) -> bool:
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(notices)
    res = conn.execute(ins.values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"]))
    return bool(res.rowcount)


def queue(
    conn: Connection,
    reg: Registry,
    *,
    subject_id: str,
    kind: str,
    letter: Letter,
    dedupe_key: str,
    record: tuple[str, str] | None = None,
    case_id: int | None = None,
    channel: str | None = None,
) -> bool:
    """Queue a notice in the caller's transaction: email if the subject has a registered
    address, else a letter for the record's authority to serve. False if already queued."""
    s = conn.execute(
        select(t.subjects.c.contact_email).where(t.subjects.c.id == subject_id)
    ).first()
    email = s.contact_email if s is not None else None
    ch = channel or ("email" if email else "letter")
    now = _naive(reg.now())
    return _insert_ignore(
        conn,
        {
            "subject_id": subject_id,
            "kind": kind,
            "created_at": now,
            "channel": ch,
            "status": "queued",
            "address": email if ch == "email" else None,
            "serving_authority": (record[0] if record else "registry") if ch == "letter" else None,
            "subject_line": letter.subject_line,
            "body_text": letter.text(),
            "body_html": letter.html(),
            "dedupe_key": dedupe_key,
            "message_id": f"<notice-{uuid.uuid4().hex}@socialcredit.registry>",
            "record_authority": record[0] if record else None,
            "record_case_number": record[1] if record else None,
            "case_id": case_id,
            "attempts": 0,
            "next_attempt_at": now,
        },
    )


_WHAT = {
    "listed": "you have been listed",
    "fulfilled": "the obligation was reported performed; the measures end",
    "withdrawn": "the record was withdrawn; the measures end",
    "corrected": "the record's data were corrected",
    "repaired": "credit repair was granted; publication, sharing and the measures stop",
}


def plan(reg: Registry, limit: int = 500) -> int:
    """Queue notices for record events accepted since the last run; return how many."""
    from socialcredit.registry.subjects import subject_file

    e, r = t.record_events.c, t.records.c
    with reg.engine.connect() as conn:
        row = conn.execute(
            select(notice_cursor.c.last_event_id).where(notice_cursor.c.name == CURSOR)
        ).first()
        start = 0 if row is None else int(row.last_event_id)
        # Records and their events share one sequence: a record row is its listing.
        listed = select(
            r.id,
            literal("listed").label("type"),
            r.decision_date.label("event_date"),
            null().label("reason"),
            literal("listed").label("fingerprint"),
            r.authority,
            r.case_number,
            r.subject_id,
        ).where(r.id > start)
        later = (
            select(
                e.id,
                e.type,
                e.event_date,
                e.reason,
                e.fingerprint,
                r.authority,
                r.case_number,
                r.subject_id,
            )
            .join(t.records, r.id == e.record_id)
            .where(e.id > start)
        )
        both = union_all(listed, later).subquery()
        rows = conn.execute(select(both).order_by(both.c.id).limit(limit)).all()
    if not rows:
        return 0
    files: dict[str, Any] = {}
    planned: list[tuple[Any, Letter]] = []
    for ev in rows:
        if ev.type not in _WHAT or str(ev.fingerprint).startswith("case-"):
            continue  # written by a case (objection, repair), which queued its own notice
        if ev.subject_id not in files:
            files[ev.subject_id] = subject_file(reg, ev.subject_id)
        f = files[ev.subject_id]
        what = _WHAT[ev.type] + (f" ({ev.reason})" if ev.reason else "")
        what += f" on {ev.event_date.isoformat()}"
        name = f.subject.name if f.subject else ""
        planned.append(
            (ev, record_letter(reg, name, f.assessment, ev.authority, ev.case_number, what))
        )
    queued = 0
    with reg.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PLAN_LOCK_KEY})")
        now_row = conn.execute(
            select(notice_cursor.c.last_event_id).where(notice_cursor.c.name == CURSOR)
        ).first()
        if (0 if now_row is None else int(now_row.last_event_id)) != start:
            return 0  # another planner got there first; nothing is lost, it did the work
        for ev, letter in planned:
            queued += queue(
                conn,
                reg,
                subject_id=ev.subject_id,
                kind=ev.type,
                letter=letter,
                dedupe_key=f"event:{ev.id}",
                record=(ev.authority, ev.case_number),
            )
        last = int(rows[-1].id)
        if now_row is None:
            conn.execute(notice_cursor.insert().values(name=CURSOR, last_event_id=last))
        else:
            conn.execute(
                update(notice_cursor)
                .where(notice_cursor.c.name == CURSOR)
                .values(last_event_id=last)
            )
        if queued:
            audit.append(
                conn,
                reg.now(),
                "notice-planner",
                "notices.queued",
                details={"events": [int(rows[0].id), last], "queued": queued},
            )
    return queued


def _claim(reg: Registry, worker: str, batch: int) -> list[Any]:
    now = _naive(reg.now())
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
                    sent_at=_naive(now),
                    delivered_at=_naive(now),
                    claimed_by=None,
                    claimed_until=None,
                    last_error=None,
                )
            )
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
                next_attempt_at=_naive(now + _backoff(n.attempts)),
                claimed_by=None,
                claimed_until=None,
                last_error=error,
            )
        )
        done["retry"] += 1


def queue_letter_copy(conn: Connection, reg: Registry, n: Any) -> None:
    """A failed email becomes a letter with the same content, served by the authority."""
    now = _naive(reg.now())
    _insert_ignore(
        conn,
        {
            "subject_id": n.subject_id,
            "kind": n.kind,
            "created_at": now,
            "channel": "letter",
            "status": "queued",
            "address": None,
            "serving_authority": n.record_authority or "registry",
            "subject_line": n.subject_line,
            "body_text": n.body_text,
            "body_html": n.body_html,
            "dedupe_key": f"{n.dedupe_key}:letter",
            "message_id": f"<notice-{uuid.uuid4().hex}@socialcredit.registry>",
            "record_authority": n.record_authority,
            "record_case_number": n.record_case_number,
            "case_id": n.case_id,
            "attempts": 0,
            "next_attempt_at": now,
        },
    )


def run_worker(
    reg: Registry,
    worker: str,
    *,
    once: bool = False,
    idle: float = 0.5,
    max_loops: int | None = None,
) -> dict[str, int]:
    """Plan and deliver until stopped (or one pass with ``once``); returns the totals."""
    import time

    totals = {"queued": 0, "delivered": 0, "retry": 0, "failed": 0}
    loops = 0
    while True:
        loops += 1
        queued = plan(reg)
        got = deliver_due(reg, worker)
        totals["queued"] += queued
        for k, v in got.items():
            totals[k] += v
        busy = queued or any(got.values())
        if once and not busy:
            return totals
        if max_loops is not None and loops >= max_loops:
            return totals
        if not busy:
            time.sleep(idle)


def notice_dict(n: Any, full: bool = False) -> dict[str, Any]:
    out = {
        "id": n.id,
        "kind": n.kind,
        "channel": n.channel,
        "status": n.status,
        "created_at": n.created_at.isoformat(),
        "delivered_at": None if n.delivered_at is None else n.delivered_at.isoformat(),
        "subject_line": n.subject_line,
        "record": f"{n.record_authority}/{n.record_case_number}" if n.record_authority else None,
        "case_id": n.case_id,
        "serving_authority": n.serving_authority,
        "attempts": n.attempts,
    }
    if full:
        out["body_text"] = n.body_text
    return out


def notices_for_subject(reg: Registry, subject_id: str) -> list[dict[str, Any]]:
    with reg.engine.connect() as conn:
        rows = conn.execute(
            select(notices).where(notices.c.subject_id == subject_id).order_by(notices.c.id)
        )
        return [notice_dict(n, full=True) for n in rows]


def get_notice(reg: Registry, notice_id: int) -> Any:
    from socialcredit.errors import NotFound

    with reg.engine.connect() as conn:
        n = conn.execute(select(notices).where(notices.c.id == notice_id)).first()
    if n is None:
        raise NotFound(f"notice {notice_id} does not exist")
    return n


def mark_letter(reg: Registry, notice_id: int, status: str, actor: str) -> dict[str, Any]:
    """An authority printed (``sent``) or served (``delivered``) a letter."""
    from socialcredit.errors import Conflict, InvalidInput

    if status not in ("sent", "delivered"):
        raise InvalidInput.one("status", "must be sent or delivered", status)
    n = get_notice(reg, notice_id)
    if n.channel != "letter":
        raise Conflict(f"notice {notice_id} is an email; its worker records delivery")
    now = reg.now()
    values: dict[str, Any] = {"status": status, "sent_at": n.sent_at or _naive(now)}
    if status == "delivered":
        values["delivered_at"] = _naive(now)
    with reg.engine.begin() as conn:
        conn.execute(update(notices).where(notices.c.id == notice_id).values(**values))
        audit.append(
            conn,
            now,
            actor,
            f"letter.{status}",
            subject_id=n.subject_id,
            target=f"notice:{notice_id}",
        )
    return notice_dict(get_notice(reg, notice_id))
