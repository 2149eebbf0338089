"""Due process driven through the HTTP API (FastAPI's TestClient) with a controllable clock,
real SMTP (aiosmtpd on 127.0.0.1) and both database backends.

Deadlines pinned here: publicity across National Day 2026 (7 working days from the first
working day of October ends 2026-10-16); an objection filed in time holds the start; rejected,
the restriction starts the next day; reconsideration filed within 10 days of the rejection and
due 15 days after filing; objections due 15 days after filing and flagged overdue after; repair
from the tier's minimum publication period; a year with no calendar data counts weekdays and
says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from tests.integration.dueprocess_support import (
    AUTH,
    Clock,
    SmtpSink,
    free_port,
    ingest,
    make_registry,
    person_id,
    set_contact,
)

from socialcredit.dueprocess import delivery, outbox
from socialcredit.registry.subjects import check
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_screening import subject_changes
from socialcredit.web.app import create_app

with warnings.catch_warnings():
    # starlette asks for its httpx fork; the test client works the same with httpx.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSENGER = person_id("110105", "19850315", "215")  # air category A, decided before National Day
OTHER = person_id("110108", "19900101", "033")
REVIEWER_SELF = person_id("110101", "19700707", "017")  # a reviewer who is also a subject
TRADER = person_id("110101", "19820202", "051")  # administrative penalty, general tier
FUTURE = person_id("110108", "19880808", "079")  # a record in 2031: no calendar data


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
def clock() -> Clock:
    c = Clock(now=None)  # type: ignore[arg-type]
    c.set_day("2026-10-09")
    return c


@pytest.fixture
def reg(db_url: str, clock: Clock, sink: SmtpSink) -> Iterator[Registry]:
    r = make_registry(db_url, clock, sink.port)
    air = {
        "authority": "CAAC",
        "case_number": "CAAC-2026-0920",
        "category": "air.smoking_or_devices",
        "subject_id": PASSENGER,
        "subject_name": "陈静",
        "decision_date": "2026-09-20",
        "legal_basis": "NDRC et al. 2018 No. 385, category A (8)",
    }
    rows = [
        air,
        {**air, "case_number": "CAAC-2026-0921", "subject_id": OTHER, "subject_name": "周洋"},
        {
            **air,
            "case_number": "CAAC-2026-0922",
            "subject_id": REVIEWER_SELF,
            "subject_name": "吴敏",
        },
        {
            "authority": "SAMR",
            "case_number": "SAMR-2026-0110",
            "category": "admin_penalty.general",
            "subject_id": TRADER,
            "subject_name": "郑华",
            "decision_date": "2026-01-10",
            "legal_basis": "NDRC Order No. 36 (Credit Repair Measures), general tier",
        },
    ]
    ingest(r, rows, "2026-10-09")
    for sid, who in ((PASSENGER, "chen"), (OTHER, "zhou"), (TRADER, "zheng")):
        set_contact(r, sid, f"{who}@example.test")
    yield r
    r.engine.dispose()


@pytest.fixture
def api(reg: Registry) -> TestClient:
    return TestClient(create_app(reg))


def sign_in(api: TestClient, sink: SmtpSink, subject_id: str, address: str) -> dict[str, str]:
    assert api.post("/v1/me/code", json={"subject_id": subject_id}).status_code == 202
    deliver_codes(api)  # the code waits in the outbox: the notice worker sends it
    code = sink.codes(address)[-1]
    r = api.post("/v1/me/session", json={"subject_id": subject_id, "code": code})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def deliver_codes(api: TestClient) -> None:
    """Send the queued one-time codes as the notice worker would, leaving the other notices
    queued (these tests count and deliver those themselves)."""
    import smtplib

    from sqlalchemy import update

    from socialcredit.dueprocess import delivery as notices
    from socialcredit.store.tables_dueprocess import notices as outbox

    reg = api.app.state.registry  # type: ignore[attr-defined]
    c = outbox.c
    with reg.engine.begin() as conn:
        rows = conn.execute(
            select(outbox).where(c.kind == "access_code", c.status == "queued")
        ).all()
        with smtplib.SMTP(reg.settings.smtp_host, reg.settings.smtp_port) as smtp:
            for n in rows:
                smtp.send_message(notices.email_message(reg, n))
        conn.execute(update(outbox).where(c.id.in_([n.id for n in rows])).values(status="sent"))


def add_reviewers(api: TestClient) -> None:
    for body in (
        {
            "id": "rv-self",
            "name": "吴敏",
            "body": "registry",
            "level": "first",
            "subject_id": REVIEWER_SELF,
        },
        {"id": "rv-first", "name": "First reviewer", "body": "registry", "level": "first"},
        {"id": "rv-higher", "name": "Higher reviewer", "body": "registry", "level": "higher"},
    ):
        assert api.post("/v1/reviewers", json=body, headers=AUTH).status_code == 201


def flight(reg: Registry, sid: str, day: str) -> str:
    import datetime as dt

    return check(reg, sid, "flight", dt.date.fromisoformat(day)).decision


def changes(reg: Registry, sid: str) -> int:
    with reg.engine.connect() as c:
        q = (
            select(func.count())
            .select_from(subject_changes)
            .where(subject_changes.c.subject_id == sid)
        )
        return int(c.execute(q).scalar_one())


def test_publicity_across_national_day_objection_reconsideration(
    api: TestClient, reg: Registry, clock: Clock, sink: SmtpSink
) -> None:
    add_reviewers(api)
    me = sign_in(api, sink, PASSENGER, "chen@example.test")
    f = api.get("/v1/me/file", headers=me).json()
    (listing,) = f["listings"]
    # Published on the first working day after the 1-7 October holiday, then 7 working days
    # counting the Saturday 10 October made a workday: the restriction starts 17 October.
    assert listing["published_on"] == "2026-10-08"
    assert listing["publicity_ends"] == "2026-10-16" and listing["start"] == "2026-10-17"
    assert listing["status"] == "pending" and listing["weekday_only_years"] == []
    assert flight(reg, PASSENGER, "2026-10-16") == "allow"

    before = changes(reg, PASSENGER)
    r = api.post(
        "/v1/me/objections",
        headers=me,
        json={
            "authority": "CAAC",
            "case_number": "CAAC-2026-0920",
            "grounds": "not_me",
            "statement": "I was not on that flight; my ID card was stolen in August.",
        },
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["suspends_start"] is True and case["due_on"] == "2026-10-24"  # 15 days
    assert case["reviewer"] == "rv-first"  # never rv-self, whose own record this is not, but
    assert changes(reg, PASSENGER) == before + 1  # the index is told at once

    # The publicity period ends with the objection open: nothing starts.
    clock.set_day("2026-10-20")
    assert flight(reg, PASSENGER, "2026-10-20") == "allow"
    me = sign_in(api, sink, PASSENGER, "chen@example.test")  # sessions last 30 minutes
    assert api.get("/v1/me/file", headers=me).status_code == 200
    held = api.get("/v1/me/file", headers=me).json()["restrictions"][0]
    assert held["status"] == "pending" and "objection" in held["explanation"]

    # Rejected on the 21st: the restriction starts on the 22nd, for one year.
    clock.set_day("2026-10-21")
    r = api.post(
        f"/v1/cases/{case['id']}/decision",
        headers=AUTH,
        json={
            "reviewer": "rv-first",
            "outcome": "rejected",
            "reasons": "The boarding pass scan and the seat photo match the subject.",
        },
    )
    assert r.status_code == 200, r.text
    assert flight(reg, PASSENGER, "2026-10-21") == "allow"
    assert flight(reg, PASSENGER, "2026-10-22") == "deny"
    me = sign_in(api, sink, PASSENGER, "chen@example.test")
    rs = api.get("/v1/me/file", headers=me).json()["restrictions"]
    assert rs[0]["start"] == "2026-10-22" and rs[0]["end"] == "2027-10-21"

    # Reconsideration: at most 10 days after the rejection, decided within 15; listing stays.
    clock.set_day("2026-10-31")
    me = sign_in(api, sink, PASSENGER, "chen@example.test")
    r = api.post(
        "/v1/me/reconsiderations",
        headers=me,
        json={"objection_case_id": case["id"], "statement": "The photo is not me."},
    )
    assert r.status_code == 201, r.text
    rc = r.json()
    assert rc["due_on"] == "2026-11-15" and rc["reviewer"] == "rv-higher"
    assert flight(reg, PASSENGER, "2026-10-31") == "deny"
    # The objection's reviewer cannot take it; a first-level reviewer cannot either.
    r = api.post(f"/v1/cases/{rc['id']}/assign", headers=AUTH, json={"reviewer": "rv-first"})
    assert r.status_code == 403 and "higher" in r.json()["message"]

    clock.set_day("2026-11-03")
    r = api.post(
        f"/v1/cases/{rc['id']}/decision",
        headers=AUTH,
        json={
            "reviewer": "rv-higher",
            "outcome": "upheld",
            "reasons": "The photo shows a different person; the record is withdrawn.",
        },
    )
    assert r.status_code == 200, r.text
    assert flight(reg, PASSENGER, "2026-11-03") == "allow"  # lifted the same day
    me = sign_in(api, sink, PASSENGER, "chen@example.test")
    f = api.get("/v1/me/file", headers=me).json()
    assert f["records"][0]["withdrawal_reason"] == "objection_upheld"
    kinds = [n["kind"] for n in f["notices"]]
    assert {"objection_filed", "objection_decided", "reconsideration_decided"} <= set(kinds)
    assert [c["state"] for c in f["cases"]] == ["rejected", "upheld"] or sorted(
        c["state"] for c in f["cases"]
    ) == ["rejected", "upheld"]


def test_reconsideration_window_and_overdue_queue(
    api: TestClient, reg: Registry, clock: Clock, sink: SmtpSink
) -> None:
    add_reviewers(api)
    me = sign_in(api, sink, OTHER, "zhou@example.test")
    body = {
        "authority": "CAAC",
        "case_number": "CAAC-2026-0921",
        "grounds": "wrong_data",
        "statement": "The decision date is wrong.",
        "documents": ["scan-001.pdf"],
    }
    case = api.post("/v1/me/objections", headers=me, json=body).json()
    again = api.post("/v1/me/objections", headers=me, json=body)
    assert again.status_code == 409  # one open case per record
    clock.set_day("2026-10-24")  # the due day itself is in time
    assert not api.get("/v1/cases?overdue=true", headers=AUTH).json()
    clock.set_day("2026-10-25")
    (late,) = api.get("/v1/cases?overdue=true", headers=AUTH).json()
    assert late["id"] == case["id"] and late["overdue"] is True
    r = api.post(
        f"/v1/cases/{case['id']}/decision",
        headers=AUTH,
        json={
            "reviewer": case["reviewer"],
            "outcome": "rejected",
            "reasons": "The decision date matches the penalty decision.",
        },
    )
    assert r.status_code == 200
    clock.set_day("2026-11-05")  # 11 days after the rejection: too late
    me = sign_in(api, sink, OTHER, "zhou@example.test")
    r = api.post(
        "/v1/me/reconsiderations",
        headers=me,
        json={"objection_case_id": case["id"], "statement": "Please look again."},
    )
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "objection_case_id"
    assert "2026-11-04" in r.json()["message"]


def test_a_reviewer_never_decides_a_case_on_their_own_record(
    api: TestClient, reg: Registry, sink: SmtpSink
) -> None:
    add_reviewers(api)
    r = api.post(
        "/v1/objections",
        headers=AUTH,
        json={
            "subject_id": REVIEWER_SELF,
            "authority": "CAAC",
            "case_number": "CAAC-2026-0922",
            "grounds": "not_me",
            "statement": "Received by letter.",
        },
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["reviewer"] == "rv-first"  # auto-assignment skipped rv-self
    for path, body in (
        (f"/v1/cases/{case['id']}/assign", {"reviewer": "rv-self"}),
        (
            f"/v1/cases/{case['id']}/decision",
            {"reviewer": "rv-self", "outcome": "upheld", "reasons": "It is obviously not me."},
        ),
    ):
        r = api.post(path, headers=AUTH, json=body)
        assert r.status_code == 403 and "subject" in r.json()["message"]
    assert api.get(f"/v1/cases/{case['id']}", headers=AUTH).json()["decided_on"] is None


def test_repair_after_the_minimum_publication_period(
    api: TestClient, reg: Registry, clock: Clock, sink: SmtpSink
) -> None:
    clock.set_day("2026-03-01")
    me = sign_in(api, sink, TRADER, "zheng@example.test")
    body = {
        "authority": "SAMR",
        "case_number": "SAMR-2026-0110",
        "obligations_met": True,
        "commitment": "I have paid the fine and commit to honest dealing.",
    }
    r = api.post("/v1/me/repairs", headers=me, json=body)
    assert r.status_code == 422 and "2026-04-10" in r.json()["message"]
    r = api.post("/v1/me/repairs", headers=me, json={**body, "commitment": " "})
    assert r.status_code == 422
    clock.set_day("2026-04-10")  # the general tier's 3 months have passed
    me = sign_in(api, sink, TRADER, "zheng@example.test")
    r = api.post("/v1/me/repairs", headers=me, json={**body, "commitment": "short"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "commitment"
    import datetime as dt

    day = dt.date(2026, 4, 10)
    assert (
        check(reg, TRADER, "finance.investment_product", day - dt.timedelta(1)).decision == "deny"
    )
    r = api.post("/v1/me/repairs", headers=me, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "repair" and r.json()["commitment"] == body["commitment"]
    assert check(reg, TRADER, "finance.investment_product", day).decision == "allow"
    again = api.post("/v1/me/repairs", headers=me, json=body)
    assert again.status_code == 422 and "already repaired" in again.json()["message"]


def test_a_year_without_calendar_data_counts_weekdays_and_says_so(
    api: TestClient, reg: Registry, clock: Clock, sink: SmtpSink
) -> None:
    clock.set_day("2031-03-12")
    row = {
        "authority": "CAAC",
        "case_number": "CAAC-2031-0001",
        "category": "air.theft_aboard",
        "subject_id": FUTURE,
        "subject_name": "孙丽",
        "decision_date": "2031-03-10",
        "legal_basis": "NDRC et al. 2018 No. 385, category A (9)",
    }
    ingest(reg, [row], "2031-03-12")
    set_contact(reg, FUTURE, "sun@example.test")
    me = sign_in(api, sink, FUTURE, "sun@example.test")
    f = api.get("/v1/me/file", headers=me).json()
    (listing,) = f["listings"]
    assert listing["published_on"] == "2031-04-01" and listing["publicity_ends"] == "2031-04-10"
    assert listing["weekday_only_years"] == [2031]
    assert "weekdays only" in f["restrictions"][0]["explanation"]
    outbox.plan(reg)
    (n,) = [
        x for x in api.get("/v1/me/file", headers=me).json()["notices"] if x["kind"] == "listed"
    ]
    assert "weekdays only" in n["body_text"] and "2031-04-10" in n["body_text"]


def test_listing_notice_delivered_over_smtp(api: TestClient, reg: Registry, sink: SmtpSink) -> None:
    assert outbox.plan(reg) == 4  # one per listing; letters for nobody: all have contacts
    got = delivery.deliver_due(reg, "test-worker")
    assert got["delivered"] == 3 and got["failed"] == 0
    # No address on file: a printable letter waits for the listing authority to serve it.
    (letter,) = [n for n in outbox.notices_for_subject(reg, REVIEWER_SELF)]
    assert letter["channel"] == "letter" and letter["status"] == "queued"
    assert letter["serving_authority"] == "CAAC"
    html = api.get(f"/v1/notices/{letter['id']}/letter", headers=AUTH).text
    assert "<h2>How to object, and by when</h2>" in html and "吴敏" in html
    (m,) = [m for m in sink.accepted if m["To"] == "chen@example.test"]
    text = sink.text(m)
    for part in (
        "CAAC-2026-0920",
        "NDRC et al. 2018 No. 385, category A (8)",
        "No air travel",
        "2026-10-16",
        "How to object",
        "15 days",
    ):
        assert part in text, part
    assert outbox.plan(reg) == 0 and delivery.deliver_due(reg, "w")["delivered"] == 0


def test_a_subject_sees_only_their_own_file(api: TestClient, reg: Registry, sink: SmtpSink) -> None:
    me = sign_in(api, sink, PASSENGER, "chen@example.test")
    r = api.get(f"/v1/me/file?subject_id={OTHER}", headers=me)
    assert r.status_code == 403
    r = api.post(
        "/v1/me/objections",
        headers=me,
        params={"subject_id": OTHER},
        json={
            "authority": "CAAC",
            "case_number": "CAAC-2026-0921",
            "grounds": "not_me",
            "statement": "x",
        },
    )
    assert r.status_code == 403
    # Neither the operator token nor any other bearer opens a subject's file here.
    assert api.get("/v1/me/file", headers=AUTH).status_code == 401
    assert api.get("/v1/me/file").status_code == 401
    assert api.get("/v1/me/file", headers={"Authorization": "Bearer rp_key"}).status_code == 401
    # The code goes only to the registered contact; a wrong code is refused and counted.
    bad = api.post("/v1/me/session", json={"subject_id": OTHER, "code": "000000"})
    assert bad.status_code == 401
    exported = api.get("/v1/me/export", headers=me)
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    d: dict[str, Any] = exported.json()
    assert d["subject"]["id"] == PASSENGER and "screenings" in d and "audit" in d
    assert any(
        e["action"] == "subject.file_read" or e["action"] == "access.session_opened"
        for e in d["audit"]
    )


def test_codes_are_rate_limited_and_say_nothing_about_who_is_registered(
    api: TestClient, sink: SmtpSink
) -> None:
    unknown = person_id("110101", "19600101", "011")
    r = api.post("/v1/me/code", json={"subject_id": unknown})
    assert r.status_code == 202
    assert r.json() == api.post("/v1/me/code", json={"subject_id": PASSENGER}).json()
    answers = [api.post("/v1/me/code", json={"subject_id": PASSENGER}) for _ in range(25)]
    r = answers[-1]  # this client's budget for this ID (20 an hour here) is spent
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    bad = api.post("/v1/me/code", json={"subject_id": "12345"})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "subject_id"
