"""Today's live figures (``reports/today.py``), the one function the dashboard and /metrics
read, against a hand-built day: who was removed today and why (expiries included, a subject
still listed under another record not removed), what was received, what is open, overdue,
waiting, failed and screened; small counts withheld on the dashboard as the report does."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert, update
from tests.e2e.conftest import person_id

from socialcredit.domain.identity import parse_subject_id
from socialcredit.domain.records import Record, events_for
from socialcredit.domain.restrictions import assess
from socialcredit.dueprocess.objections import file_objection
from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.registry.ingest import ingest_bytes
from socialcredit.reports import dashboard
from socialcredit.reports.today import published, today
from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.settings import Settings
from socialcredit.store.tables_dueprocess import cases, notices
from socialcredit.store.tables_screening import screening_log

AUTH = {"admin_penalty.minor": "SAMR", "air.prohibited_items": "CAAC"}
COURT = "SPC-BJ-HD"


def pid(n: int) -> str:
    return person_id("110108", "19800512", f"{n:03d}")


def ending_yesterday(reg: Registry, category: str, day: dt.date) -> dt.date:
    """The decision date whose listing (as the restriction engine times it) ends the day
    before ``day``: removed by expiry on ``day``."""
    sid = pid(999)
    for back in range(60, 800):
        d = day - dt.timedelta(days=back)
        rec = Record(AUTH[category], "X", category, sid, "某", d, "basis")
        a = assess(parse_subject_id(sid), events_for([rec]), reg.pack, day, reg.calendar)
        if a.listings and a.listings[0].end == day - dt.timedelta(days=1):
            return d
    raise AssertionError(f"no decision date of {category} ends the day before {day}")


def listed(case: str, sid: str, category: str, day: dt.date, authority: str) -> dict[str, Any]:
    return {
        "authority": authority,
        "case_number": case,
        "category": category,
        "subject_id": sid,
        "subject_name": "某某",
        "decision_date": day.isoformat(),
        "legal_basis": "basis",
    }


def event(case: str, kind: str, day: dt.date, authority: str = COURT, **kw: str) -> dict[str, Any]:
    return {
        "authority": authority,
        "case_number": case,
        "event": kind,
        "event_date": day.isoformat(),
    } | kw


def ingest(reg: Registry, rows: list[dict[str, Any]], name: str) -> None:
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    rep = ingest_bytes(reg.uow(), data, "jsonl", source=name, pack=reg.pack, today=reg.today())
    assert not rep.rejected, rep.rejected


def notice(conn: Any, i: int, status: str) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    conn.execute(
        insert(notices).values(
            subject_id=pid(1), kind="listed", created_at=now, channel="email", status=status,
            subject_line="s", body_text="b", body_html="b", dedupe_key=f"k{i}",
            message_id=f"<m{i}@test>", attempts=0, next_attempt_at=now,
        )
    )  # fmt: skip


def screening(conn: Any, sector: str, decision: str, at: dt.datetime) -> None:
    conn.execute(
        insert(screening_log).values(
            screening_id=str(uuid.uuid4()), at=at.replace(tzinfo=None), relying_party="AIR",
            subject_id=pid(1), sector=sector, purpose="test", decision=decision,
            rulepack_version="x",
        )
    )  # fmt: skip


@pytest.fixture
def reg(db_url: str) -> Iterator[Registry]:
    r = open_registry(
        Settings(database_url=db_url, report_min_count=2, operator_token="op"),
        migrate_schema=True,
    )
    yield r
    r.engine.dispose()


def test_a_hand_built_day(reg: Registry) -> None:
    # The day: when an air listing decided on 6 May 2025 runs out (its start follows the
    # monthly publication, so not every day sees one), a past day, so that every batch
    # received (stamped with the wall clock) counts as received on it.
    air = dt.date(2025, 5, 6)
    rec = Record("CAAC", "X", "air.prohibited_items", pid(999), "某", air, "basis")
    lst = assess(parse_subject_id(pid(999)), events_for([rec]), reg.pack, air, reg.calendar)
    end = lst.listings[0].end
    assert end is not None
    day = end + dt.timedelta(days=1)
    reg.clock = lambda: dt.datetime.combine(day, dt.time(4), dt.UTC)
    assert reg.today() == day
    with reg.uow() as uow:
        seed_reference_authorities(uow, reg.pack)
        uow.commit()
    minor = ending_yesterday(reg, "admin_penalty.minor", day)
    old = day - dt.timedelta(days=200)
    court = "court.defaulter.refuses"
    # Earlier batches (their records count as received today too: the batch is stamped
    # with the wall clock; new listings are asserted by difference below).
    ingest(
        reg,
        [
            listed("M-1", pid(1), "admin_penalty.minor", minor, "SAMR"),  # expires today
            listed("A-1", pid(2), "air.prohibited_items", air, "CAAC"),  # expires today
            listed("M-3", pid(3), "admin_penalty.minor", minor, "SAMR"),  # expires today, but
            listed("A-3", pid(3), "air.prohibited_items", day - dt.timedelta(days=40), "CAAC"),
            listed("M-4", pid(4), "admin_penalty.minor", minor - dt.timedelta(days=1), "SAMR"),
            listed("C-5", pid(5), court, old, COURT),  # fulfilled today
            listed("C-6", pid(6), court, old, COURT),  # withdrawn today
            listed("C-7", pid(7), court, old, COURT),  # withdrawn today: objection upheld
            listed("C-8", pid(8), court, old, COURT),  # fulfilled yesterday
            listed("C-9", pid(9), court, old, COURT),  # still listed
            listed("G-11", pid(11), "admin_penalty.general", old, "SAMR"),  # repaired today
        ],
        "earlier.jsonl",
    )
    ingest(
        reg,
        [
            event("C-5", "fulfilled", day),
            event("C-6", "withdrawn", day, reason="creditor_withdrew"),
            event("C-7", "withdrawn", day, reason="objection_upheld"),
            event("C-8", "fulfilled", day - dt.timedelta(days=1)),
            event("G-11", "repaired", day, "SAMR"),
        ],
        "events.jsonl",
    )
    before = today(reg)
    assert before.day == day
    assert before.removals == {
        "fulfilled": 1,
        "expired": 2,  # M-1 and A-1; M-3's subject stays listed under A-3, M-4 went yesterday
        "objection_upheld": 1,
        "withdrawn": 1,
        "repaired": 1,
    }
    assert before.removals_total == 6
    # Cases, notices, screenings.
    file_objection(reg, pid(9), COURT, "C-9", "not_me", "不是我", [], "subject")
    late = file_objection(reg, pid(3), "CAAC", "A-3", "wrong_data", "日期有误", [], "subject")
    filed = today(reg)  # filing queued acknowledgements: the notices below come on top
    wall = dt.datetime.now(dt.UTC)  # the screening log is stamped with the wall clock
    with reg.engine.begin() as conn:
        conn.execute(
            update(cases).where(cases.c.id == late["id"]).values(due_on=day - dt.timedelta(days=1))
        )
        for i, status in enumerate(("queued", "queued", "queued", "failed", "sent")):
            notice(conn, i, status)
        for sector, decision, n in (("flight", "deny", 3), ("flight", "allow", 1)):
            for _ in range(n):
                screening(conn, sector, decision, wall - dt.timedelta(seconds=5))
        screening(conn, "flight", "deny", wall - dt.timedelta(minutes=5))  # not the last minute
    ingest(reg, [listed("C-10", pid(10), court, day, COURT)], "new.jsonl")
    f = today(reg)
    assert f.new_listings == before.new_listings + 1
    assert (f.objections_open, f.objections_overdue) == (2, 1)
    assert f.notices_backlog == filed.notices_backlog + 3
    assert f.notices_failed == filed.notices_failed + 1 == 1
    assert f.screenings == [("flight", "allow", 1), ("flight", "deny", 3)]
    assert f.removals == before.removals  # C-10 removes nobody
    # The dashboard: the same figures, 1 (below the minimum of 2) withheld.
    d = published(f, 2)
    assert d["removals_today"] == 6 and d["removals_by_reason"]["expired"] == 2
    assert d["removals_by_reason"]["fulfilled"] is None  # 1 < 2
    assert d["objections_overdue"] is None and d["notices_failed"] is None
    assert d["screenings_per_minute"] == [
        {"sector": "flight", "decision": "allow", "count": None},
        {"sector": "flight", "decision": "deny", "count": 3},
    ]
    assert dashboard.compute(reg)["removals_by_reason"] == d["removals_by_reason"]
