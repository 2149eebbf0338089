"""Helpers for the due-process tests (not a test module).

- ``Clock``: a settable clock injected into the Registry; tests move time, never sleep.
- ``SmtpSink``: a real SMTP server (aiosmtpd) on 127.0.0.1 keeping what it accepted, with an
  optional hold on the next message (to kill a worker in the middle of a delivery).
- ``make_registry``: a Registry on the test database with the clock and the sink's port.
- ``ingest``: records in the ingest format, one batch.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from socialcredit.domain.identity import ric_check_char
from socialcredit.registry.ingest import ingest_bytes
from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.settings import Settings

OPERATOR = "test-operator-token"
AUTH = {"Authorization": f"Bearer {OPERATOR}"}


def person_id(region: str, born: str, seq: str) -> str:
    first = region + born + seq
    return first + ric_check_char(first)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Clock:
    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def set_day(self, day: str, hour: int = 10) -> None:
        # 10:00 in Beijing is 02:00 UTC: the registry's "today" is that day.
        d = dt.date.fromisoformat(day)
        self.now = dt.datetime(d.year, d.month, d.day, hour, tzinfo=dt.UTC) - dt.timedelta(hours=8)


@dataclass
class SmtpSink:
    """Messages accepted (250) by a real SMTP server on loopback."""

    accepted: list[EmailMessage] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    hold_next: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        if self.hold_next:
            # The whole message is here but unacknowledged: a real server keeps nothing
            # unless it answers 250, and the client is killed while we wait.
            self.hold_next = False
            self.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
            return "451 connection lost before acknowledgement"
        self.accepted.append(msg)
        self.arrived.set()
        return "250 OK"

    def codes(self, to: str) -> list[str]:
        import re

        out = []
        for m in self.accepted:
            if m["To"] == to and "one-time code" in str(m["Subject"]):
                body = m.get_body(preferencelist=("plain",))
                assert body is not None
                found = re.search(r"code is (\d{6})", body.get_content())
                assert found is not None
                out.append(found.group(1))
        return out

    def text(self, m: EmailMessage) -> str:
        body = m.get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content())


def make_registry(
    db_url: str, clock: Clock, smtp_port: int, code_requests: str = "20/hour"
) -> Registry:
    settings = Settings(
        database_url=db_url,
        operator_token=OPERATOR,
        smtp_port=smtp_port,
        smtp_host="127.0.0.1",
        # the abuse budgets count wall-clock time, and these tests sign one subject in again
        # and again across simulated days: room for that, the budgets' own tests use theirs
        code_requests_per_client_id=code_requests,
    )
    reg = open_registry(settings, migrate_schema=True)
    reg.clock = clock
    return reg


def ingest(reg: Registry, rows: list[dict[str, Any]], today: str) -> None:
    from socialcredit.registry.authorities import seed_reference_authorities

    with reg.uow() as uow:
        seed_reference_authorities(uow, reg.pack)
        uow.commit()
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    rep = ingest_bytes(
        reg.uow(),
        data,
        "jsonl",
        source=f"test-{len(data)}-{today}",
        pack=reg.pack,
        today=dt.date.fromisoformat(today),
    )
    assert not rep.rejected, rep.rejected


def set_contact(reg: Registry, subject_id: str, address: str) -> None:
    from sqlalchemy import update

    from socialcredit.store.tables import subjects

    with reg.engine.begin() as conn:
        conn.execute(
            update(subjects).where(subjects.c.id == subject_id).values(contact_email=address)
        )
