"""The transparency report against a hand-built small year (2025) whose answers are known.

The year, subject by subject (all listings follow the reference rule pack):

- A: defaulter (refuses) decided 10 Mar, owes 1,000.00, pays 5 Jun: listed Mar, removed Jun
  (fulfilled), 1,000.00 paid in June.
- B: defaulter (refuses) 15 Jan, withdrawn 20 Feb (creditor withdrew), but also obstructs
  from 10 Feb (two years): listed Jan and never removed - one subject, not two listings.
- C: defaulter 1 Apr, withdrawn 20 Apr because an objection was upheld: listed and removed Apr.
- D: minor administrative penalty of 15 Nov 2024 (published 3 months, to 14 Feb): removed
  15 Feb (expired), not newly listed in 2025.
- E: general administrative penalty 6 May, repaired 10 Sep: listed May, removed Sep.
- F: smoking on a bullet train 1 Jul: published 1 Jul, 7 working days' publicity, effective
  11 Jul (listed Jul), 180 days: still listed at the end of the year.
- G: defaulter 1 Aug, withdrawn 15 Aug (creditor withdrew): listed and removed Aug.
- an enterprise on the A-grade taxpayer redlist (a record, not a listing).

Screening log (UTC; the report counts months in Beijing time, UTC+8), cases and notices are
inserted directly; one Rongcheng resident gives blood three times (1010, 1020, 1030 = AA).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from socialcredit.domain.identity import ric_check_char
from socialcredit.domain.records import Authority
from socialcredit.errors import InvalidInput
from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.registry.ingest import ingest_bytes
from socialcredit.reports.figures import build_report
from socialcredit.reports.render import to_csv, to_html, write_report
from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.scoring import service as scoring
from socialcredit.settings import Settings
from socialcredit.store.tables_dueprocess import cases, notices
from socialcredit.store.tables_screening import screening_log

D = dt.date
UTC = dt.UTC


def pid(region: str, born: str, seq: str) -> str:
    first = region + born + seq
    return first + ric_check_char(first)


A, B, C, D_, E, F, G = (pid("110105", "19800101", f"{i:03d}") for i in range(11, 18))
DONOR = pid("371082", "19900101", "021")
ENTERPRISE = "91110000600037341L"


def rec(
    case: str, cat: str, subject: str, day: str, auth: str = "SPC-BJ-CY", **kw: Any
) -> dict[str, Any]:
    return {"authority": auth, "case_number": case, "category": cat, "subject_id": subject,
            "subject_name": "某", "decision_date": day, "legal_basis": "basis", **kw}  # fmt: skip


def ev(
    case: str, kind: str, day: str, auth: str = "SPC-BJ-CY", reason: str | None = None
) -> dict[str, Any]:
    return {"event": kind, "authority": auth, "case_number": case, "event_date": day,
            "reason": reason}  # fmt: skip


LINES = [
    rec("D1", "admin_penalty.minor", D_, "2024-11-15", auth="SAMR"),
    rec("B1", "court.defaulter.refuses", B, "2025-01-15"),
    rec("B2", "court.defaulter.obstructs", B, "2025-02-10"),
    ev("B1", "withdrawn", "2025-02-20", reason="creditor_withdrew"),
    rec("A1", "court.defaulter.refuses", A, "2025-03-10", amount_owed="1000.00"),
    rec("C1", "court.defaulter.refuses", C, "2025-04-01"),
    ev("C1", "withdrawn", "2025-04-20", reason="objection_upheld"),
    rec("E1", "admin_penalty.general", E, "2025-05-06", auth="SAMR"),
    ev("A1", "fulfilled", "2025-06-05"),
    rec("F1", "rail.smoking_on_emu", F, "2025-07-01", auth="CR"),
    rec("G1", "court.defaulter.refuses", G, "2025-08-01"),
    ev("G1", "withdrawn", "2025-08-15", reason="creditor_withdrew"),
    ev("E1", "repaired", "2025-09-10", auth="SAMR"),
    rec("T1", "redlist.a_grade_taxpayer", ENTERPRISE, "2025-04-01", auth="STA"),
    *(rec(f"H{m}", "civic.blood_donation", DONOR, f"2025-0{m}-03", auth="RC-HEALTH")
      for m in (1, 2, 3)),
]  # fmt: skip


def utc(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)


SCREENINGS = [
    ("2024-12-31T17:00", "flight", "deny"),  # 1 Jan 2025 in Beijing
    ("2025-01-10T03:00", "flight", "deny"),
    ("2025-01-31T17:00", "flight", "deny"),  # 1 Feb in Beijing
    ("2025-03-05T03:00", "rail.high_class", "deny"),
    ("2025-03-06T03:00", "rail.standard", "deny"),
    ("2025-03-07T03:00", "flight", "allow"),
    ("2025-03-07T04:00", "flight", "allow"),
    ("2025-12-31T17:00", "flight", "deny"),  # 2026 in Beijing
]
CASES = [  # kind, filed, due, decided, outcome
    ("objection", "2025-02-01", "2025-02-16", "2025-02-10", "upheld"),
    ("objection", "2025-02-03", "2025-02-18", "2025-02-25", "rejected"),
    ("objection", "2025-03-01", "2025-03-16", "2025-03-05", "rejected"),
    ("objection", "2025-12-20", "2026-01-04", None, None),
    ("reconsideration", "2025-03-01", "2025-03-16", "2025-03-11", "rejected"),
    ("objection", "2024-12-01", "2024-12-16", "2024-12-10", "upheld"),  # last year
]
NOTICES = [  # created, sent, delivered, status
    ("2025-01-05T02:00", "2025-01-05T02:01", "2025-01-06T02:00", "delivered"),
    ("2025-01-31T20:00", None, None, "failed"),  # February in Beijing
    ("2025-03-01T02:00", "2025-03-01T02:01", None, "sent"),
]


def build(path: Path | str, min_count: int = 1) -> Registry:
    """The year above, in a SQLite file (or at a database URL); ``min_count`` 1 publishes
    every score count, so the tests can read the one donor's grade (the default, 10,
    withholds it: see the suppression test)."""
    url = path if isinstance(path, str) else f"sqlite:///{path}"
    settings = Settings(database_url=url, report_min_count=min_count)
    reg = open_registry(settings, migrate_schema=True)
    reg.clock = lambda: dt.datetime(2026, 3, 1, 4, tzinfo=UTC)
    with reg.uow() as uow:
        seed_reference_authorities(uow, reg.pack)
        cats = frozenset(
            c.id for c in reg.pack.categories.values() if "health" in c.authority_kinds
        )
        uow.authorities.add(Authority("RC-HEALTH", "荣成市卫生健康委员会", "health", cats))
        uow.commit()
    scoring.set_residence(reg, DONOR, "371082", D(2015, 1, 1))
    data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in LINES).encode()
    rep = ingest_bytes(
        reg.uow(), data, "jsonl", source="year.jsonl", pack=reg.pack, today=D(2026, 3, 1)
    )
    assert not rep.rejected, rep.rejected
    with reg.engine.begin() as c:
        for at, sector, decision in SCREENINGS:
            c.execute(insert(screening_log).values(
                screening_id=str(uuid.uuid4()), at=utc(at), relying_party="RP", subject_id=A,
                sector=sector, purpose="ticket", reference=None, decision=decision,
                reason_code="court.defaulter" if decision == "deny" else None,
                rulepack_version="2026.1"))  # fmt: skip
        for kind, filed, due, decided, outcome in CASES:
            c.execute(insert(cases).values(
                subject_id=C, kind=kind, record_authority="SPC-BJ-CY", record_case_number="C1",
                grounds="should_be_removed", statement="s", documents=[], filed_by="subject",
                filed_on=D.fromisoformat(filed), filed_at=utc(filed + "T01:00"),
                due_on=D.fromisoformat(due), suspends_start=False,
                decided_on=D.fromisoformat(decided) if decided else None,
                outcome=outcome))  # fmt: skip
        for i, (created, sent, delivered, status) in enumerate(NOTICES):
            c.execute(insert(notices).values(
                subject_id=A, kind="listed", created_at=utc(created), channel="email",
                status=status, subject_line="s", body_text="b", body_html="b",
                dedupe_key=f"k{i}", message_id=f"m{i}", attempts=1,
                next_attempt_at=utc(created), sent_at=utc(sent) if sent else None,
                delivered_at=utc(delivered) if delivered else None))  # fmt: skip
    return reg


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> tuple[Registry, dict[str, Any]]:
    reg = build(tmp_path_factory.mktemp("report") / "registry.db")
    return reg, build_report(reg, 2025)


class Client:
    """Requests to the ASGI app in process (httpx's ASGI transport; no socket)."""

    def __init__(self, reg: Registry) -> None:
        from socialcredit.web.app import create_app

        self.app = create_app(reg)

    def get(self, path: str) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                return await c.get(path)

        return asyncio.run(go())


def col(report: dict[str, Any], table: str, name: str) -> list[Any]:
    t = report["tables"][table]
    i = t["columns"].index(name)
    return [r[i] for r in t["rows"]]


def test_blocked_purchases_by_sector_and_beijing_month(
    year: tuple[Registry, dict[str, Any]],
) -> None:
    _, r = year
    assert r["totals"]["blocked_purchases"] == {
        "flight": 3, "rail.high_class": 1, "rail (all)": 2, "all sectors": 5, "screenings": 7,
    }  # fmt: skip
    assert col(r, "blocked_purchases", "flight")[:3] == [2, 1, 0]
    assert col(r, "blocked_purchases", "rail (all)")[:3] == [0, 0, 2]
    assert len(r["tables"]["blocked_purchases"]["rows"]) == 12


def test_records_by_category_and_authority(year: tuple[Registry, dict[str, Any]]) -> None:
    _, r = year
    assert r["totals"]["records_collected"] == 11  # 7 blacklist, 1 redlist, 3 donations
    cats = {row[0]: row[-1] for row in r["tables"]["records_by_category"]["rows"]}
    assert cats["court.defaulter.refuses"] == 4 and "admin_penalty.minor" not in cats
    auths = {row[0]: row[-1] for row in r["tables"]["records_by_authority"]["rows"]}
    assert auths == {"SPC-BJ-CY": 5, "SAMR": 1, "CR": 1, "STA": 1, "RC-HEALTH": 3}


def test_subjects_listed_and_removed_with_reasons(year: tuple[Registry, dict[str, Any]]) -> None:
    _, r = year
    lst = r["totals"]["listings"]
    assert lst["new_blacklist_records"] == 7
    assert lst["subjects_newly_listed"] == 6  # B, A, C, E, F, G
    assert lst["subjects_removed"] == 5  # D, C, A, G, E
    assert lst["removals_by_reason"] == {
        "fulfilled": 1, "expired": 1, "objection_upheld": 1, "withdrawn": 1, "repaired": 1,
    }  # fmt: skip
    assert lst["subjects_listed_at_end"] == 2  # B and F
    # F, decided on 1 July (that month's first working day), is published on 1 August and
    # listed after the publicity period, in August with G.
    assert col(r, "listings", "subjects newly listed") == [1, 0, 1, 1, 1, 0, 0, 2, 0, 0, 0, 0]
    assert col(r, "listings", "subjects removed") == [0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0]
    assert col(r, "listings", "removed: expired")[1] == 1
    assert col(r, "listings", "removed: objection upheld")[3] == 1


def test_debts_paid_after_listing(year: tuple[Registry, dict[str, Any]]) -> None:
    _, r = year
    assert r["totals"]["paid_after_listing"] == {
        "records_fulfilled": 1, "subjects_who_paid": 1, "amount_paid_yuan": "1000.00",
    }  # fmt: skip
    assert col(r, "paid_after_listing", "amount paid (yuan)")[5] == "1000.00"


def test_cases_median_p95_and_deadline(year: tuple[Registry, dict[str, Any]]) -> None:
    _, r = year
    obj = r["totals"]["cases"]["objection"]
    assert (obj["filed"], obj["upheld"], obj["rejected"]) == (4, 1, 2)
    assert (obj["median_days_to_decide"], obj["p95_days_to_decide"]) == (9, 22)
    assert obj["share_within_deadline"] == round(2 / 3, 4)
    rec_ = r["totals"]["cases"]["reconsideration"]
    assert (rec_["filed"], rec_["rejected"], rec_["median_days_to_decide"]) == (1, 1, 10)
    assert col(r, "cases", "objections filed")[:3] == [0, 2, 1]
    assert col(r, "cases", "objections filed")[11] == 1


def test_notices_sent_and_delivered(year: tuple[Registry, dict[str, Any]]) -> None:
    _, r = year
    assert r["totals"]["notices"] == {"created": 3, "sent": 2, "delivered": 1, "failed": 1}
    assert col(r, "notices", "failed")[:2] == [0, 1]


def test_score_distributions_per_month_and_region(year: tuple[Registry, dict[str, Any]]) -> None:
    _, r = year
    rows = [x for x in r["tables"]["score_distribution"]["rows"] if x[1] == "rongcheng" and x[5]]
    assert [(x[0], x[3], x[4]) for x in rows[:3]] == [
        ("2025-01", 1010.0, "A"), ("2025-02", 1020.0, "A"), ("2025-03", 1030.0, "AA"),
    ]  # fmt: skip
    assert r["totals"]["scores"]["rongcheng"]["distribution"]["AA"] == 1
    assert ["rongcheng", "371082", "AA", 1] in r["tables"]["score_distribution_by_region"]["rows"]
    assert r["totals"]["scores"]["suqian"]["eligible"] == 0


def test_small_score_counts_and_means_are_withheld_by_default(tmp_path: Path) -> None:
    r = build_report(build(tmp_path / "registry.db", min_count=10), 2025)
    rows = [x for x in r["tables"]["score_distribution"]["rows"] if x[1] == "rongcheng"]
    assert rows and all(x[2] == 1 and x[3] is None for x in rows)  # one eligible: no mean
    assert {x[5] for x in rows} == {0, None}  # the donor's grade is a withheld 1
    assert r["totals"]["scores"]["rongcheng"]["distribution"]["AA"] is None
    assert ["rongcheng", "371082", "AA", None] in r["tables"]["score_distribution_by_region"][
        "rows"
    ]
    assert any("withheld" in n for n in r["notes"])
    assert "1010" not in json.dumps(r["tables"]["score_distribution"])
    files = write_report(r, tmp_path / "out")  # charts and CSV take the nulls
    assert files


def test_no_personal_data_in_any_output(
    year: tuple[Registry, dict[str, Any]], tmp_path: Path
) -> None:
    _, r = year
    files = write_report(r, tmp_path)
    assert {p.name for p in files} >= {"report-2025.json", "report-2025.html", "listings.csv"}
    html = (tmp_path / "report-2025.html").read_text("utf-8")
    assert (
        html.count("<svg") >= 7
        and "<script" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    blob = (
        json.dumps(r, ensure_ascii=False) + html + "".join(to_csv(t) for t in r["tables"].values())
    )
    for secret in (A, B, C, DONOR, "某"):
        assert secret not in blob, secret
    assert to_html(r).startswith("<!doctype html>")
    assert 'href="listings.csv"' in html  # the file written beside the page


def test_switching_a_programme_off_removes_it_from_the_report(tmp_path: Path) -> None:
    reg = build(tmp_path / "r.db")
    assert "rongcheng" in build_report(reg, 2025)["totals"]["scores"]
    scoring.set_switch(reg, "rongcheng", False, "AI Act")
    after = build_report(reg, 2025)
    assert "rongcheng" not in after["totals"]["scores"]
    assert all(x[1] != "rongcheng" for x in after["tables"]["score_distribution"]["rows"])
    assert "rongcheng" not in json.dumps(after["tables"]["score_distribution_by_region"])
    # The HTTP report serves what was published: the next publication follows the switch.
    from socialcredit.reports.publication import publish

    publish(reg, 2025)
    client = Client(reg)
    assert "rongcheng" not in client.get("/v1/reports/2025").json()["totals"]["scores"]


def test_years_are_checked(year: tuple[Registry, dict[str, Any]]) -> None:
    reg, _ = year
    for bad in (1999, 2027):
        with pytest.raises(InvalidInput) as e:
            build_report(reg, bad)
        assert e.value.problems[0].field == "year" and e.value.problems[0].value == str(bad)
    partial = build_report(reg, 2026)
    assert partial["period"] == {"from": "2026-01-01", "to": "2026-03-01", "complete": False,
                                 "timezone": "Asia/Shanghai"}  # fmt: skip
    assert len(partial["tables"]["listings"]["rows"]) == 3


def test_http_report_is_public_and_rejects_bad_years(year: tuple[Registry, dict[str, Any]]) -> None:
    reg, r = year
    from socialcredit.reports.publication import publish

    publish(reg, 2025, r)
    client = Client(reg)
    got = client.get("/v1/reports/2025")
    assert got.status_code == 200 and got.json()["totals"] == r["totals"]
    bad = client.get("/v1/reports/20x5")
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "year"
    assert client.get("/v1/reports/1999").status_code == 404  # never published
    html = client.get("/v1/reports/2025/html")
    assert html.status_code == 200 and "<svg" in html.text
    assert 'href="csv/listings"' in html.text  # relative to .../2025/html: the route below
    csv_ = client.get("/v1/reports/2025/csv/listings")
    assert csv_.status_code == 200 and csv_.text.startswith("month,")
    assert client.get("/v1/reports/2025/csv/nope").status_code == 404
    svg = client.get("/v1/reports/2025/charts/blocked.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")


def test_the_report_in_parts_of_the_subjects_is_the_report_in_one(
    year: tuple[Registry, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialcredit.reports import parts

    reg, whole = year
    for rows in (1, 3):  # as many parts as records (up to 100), and a few
        monkeypatch.setattr(parts, "ROWS_PER_PART", rows)
        with reg.engine.connect() as conn:
            assert len(parts.parts(conn)) > 1
        split = build_report(reg, 2025)
        assert {**split, "generated_at": None} == {**whole, "generated_at": None}


def test_the_report_on_postgresql_is_the_report_on_sqlite(
    year: tuple[Registry, dict[str, Any]], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialcredit.reports import parts

    if db_url.startswith("sqlite"):
        pytest.skip("the year above is SQLite's already")
    _, whole = year
    reg = build(db_url)
    try:
        for rows in (10**6, 3):  # in one part, and in many
            monkeypatch.setattr(parts, "ROWS_PER_PART", rows)
            got = build_report(reg, 2025)
            assert {**got, "generated_at": None} == {**whole, "generated_at": None}
    finally:
        reg.engine.dispose()
