"""Finding 6 of issue 14: one-time codes neither lock their owner out nor tell who is
registered.

- a stranger's requests (from one client address) for someone else's ID run out of the
  stranger's budget, never the owner's: the owner, from their own address, still gets a code
  and signs in; wrong guesses are limited per client, not per ID;
- the answer is the same for an ID with an address, without one and unknown, and no SMTP
  runs in the request: the code goes to the notices outbox (checked structurally: SMTP is
  made to fail the test if the request touches it), delivered by the notice worker.

Fixtures: ``reg`` a registry with one person (``OWNER``) who has an email address, ``sink`` a
real SMTP server on loopback the notice worker delivers to (dueprocess_support explains them).
"""

from __future__ import annotations

import datetime as dt
import smtplib
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from tests.integration.dueprocess_support import (
    Clock,
    SmtpSink,
    free_port,
    ingest,
    make_registry,
    person_id,
    set_contact,
)

from socialcredit.dueprocess import delivery as notices
from socialcredit.dueprocess.subject_access import CODES_PER_ID_PER_HOUR
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_dueprocess import notices as notices_table
from socialcredit.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

OWNER = person_id("110105", "19850315", "215")
NO_MAIL = person_id("110108", "19900101", "033")
UNKNOWN = person_id("110101", "19600101", "011")
ADDRESS = "owner@example.test"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    s = SmtpSink(port=free_port())
    ctl = Controller(s, hostname="127.0.0.1", port=s.port)
    ctl.start()
    try:
        yield s
    finally:
        s.release.set()
        ctl.stop()


@pytest.fixture
def reg(db_url: str, sink: SmtpSink) -> Iterator[Registry]:
    clock = Clock(now=None)  # type: ignore[arg-type]
    clock.set_day("2026-10-09")
    r = make_registry(db_url, clock, sink.port, code_requests="3/hour")
    row = {
        "authority": "CAAC",
        "case_number": "CAAC-2026-0920",
        "category": "air.smoking_or_devices",
        "subject_id": OWNER,
        "subject_name": "陈静",
        "decision_date": "2026-09-20",
        "legal_basis": "NDRC et al. 2018 No. 385, category A (8)",
    }
    ingest(r, [row, {**row, "case_number": "C-2", "subject_id": NO_MAIL}], "2026-10-09")
    set_contact(r, OWNER, ADDRESS)
    yield r
    r.engine.dispose()


def client(reg: Registry, address: str) -> TestClient:
    return TestClient(create_app(reg), client=(address, 40000))


def deliver(reg: Registry) -> None:
    notices.deliver_due(reg, "test-worker")


def test_a_stranger_cannot_lock_the_owner_out(reg: Registry, sink: SmtpSink) -> None:
    stranger, owner = client(reg, "203.0.113.9"), client(reg, "198.51.100.7")
    codes = [stranger.post("/v1/me/code", json={"subject_id": OWNER}) for _ in range(6)]
    refused = [r for r in codes if r.status_code == 429]
    assert refused and all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    # wrong guesses from the stranger spend the stranger's tries, not the owner's code
    for guess in range(12):
        stranger.post("/v1/me/session", json={"subject_id": OWNER, "code": f"{guess:06d}"})
    assert owner.post("/v1/me/code", json={"subject_id": OWNER}).status_code == 202
    deliver(reg)
    code = sink.codes(ADDRESS)[-1]
    r = owner.post("/v1/me/session", json={"subject_id": OWNER, "code": code})
    assert r.status_code == 200, r.text


def test_the_code_goes_through_the_outbox_and_the_answer_says_nothing(
    reg: Registry, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_smtp(*a: Any, **k: Any) -> None:
        raise AssertionError("SMTP in the request path: its time tells who has an address")

    monkeypatch.setattr(smtplib, "SMTP", no_smtp)
    api = client(reg, "198.51.100.7")
    answers = [api.post("/v1/me/code", json={"subject_id": s}) for s in (OWNER, NO_MAIL, UNKNOWN)]
    assert [a.status_code for a in answers] == [202] * 3
    assert answers[0].json() == answers[1].json() == answers[2].json()
    with reg.engine.connect() as conn:
        queued = conn.execute(
            select(notices_table.c.subject_id, notices_table.c.channel, notices_table.c.status)
        ).all()
    assert (OWNER, "email", "queued") in queued
    monkeypatch.undo()
    deliver(reg)
    assert len(sink.codes(ADDRESS)) == 1


def test_strangers_at_the_hourly_mail_ceiling_do_not_lock_the_owner_out(
    reg: Registry, sink: SmtpSink
) -> None:
    """Strangers from many addresses reach the ID's hourly mail ceiling: no more mail goes to
    the owner that hour, but the newest code they were sent stays valid until a new one can be
    sent, so the owner can still sign in half an hour later (it had expired after 10 minutes)."""
    for n in range(CODES_PER_ID_PER_HOUR + 3):
        r = client(reg, f"203.0.113.{n + 1}").post("/v1/me/code", json={"subject_id": OWNER})
        assert r.status_code == 202
    deliver(reg)
    mailed = sink.codes(ADDRESS)
    assert len(mailed) == CODES_PER_ID_PER_HOUR  # the ceiling holds: no mail bomb
    clock = reg.clock  # type: ignore[attr-defined]
    clock.now += dt.timedelta(minutes=30)
    owner = client(reg, "198.51.100.7")
    assert owner.post("/v1/me/code", json={"subject_id": OWNER}).status_code == 202
    deliver(reg)
    assert len(sink.codes(ADDRESS)) == CODES_PER_ID_PER_HOUR  # still no new mail this hour
    r = owner.post("/v1/me/session", json={"subject_id": OWNER, "code": mailed[-1]})
    assert r.status_code == 200, r.text
    # an older code than the newest is not kept alive: fewer live codes, fewer lucky guesses
    older = client(reg, "198.51.100.8").post(
        "/v1/me/session", json={"subject_id": OWNER, "code": mailed[0]}
    )
    assert older.status_code == 401
