"""Scores in the registry: residences, the subject's own view with history, incremental and
bulk recomputation from the store, incentives, and the switch that removes every score.

Fixtures: ``reg`` is a fresh SQLite registry (migrated, reference authorities plus a health
bureau and a utility regulator for Rongcheng) with three residents of Rongcheng (371082) and
one of Suqian (321322); ``ingest`` takes JSONL-shaped dicts and ingests them as one batch.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from socialcredit.domain.identity import ric_check_char
from socialcredit.domain.records import Authority
from socialcredit.errors import InvalidInput
from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.registry.ingest import ingest_bytes
from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.scoring import service as scoring
from socialcredit.settings import Settings
from socialcredit.store.tables_scoring import score_history

D = dt.date
ON = D(2026, 6, 30)


def pid(region: str, born: str, seq: str) -> str:
    first = region + born + seq
    return first + ric_check_char(first)


DEBTOR = pid("371082", "19900101", "011")  # Rongcheng, a defaulter
DONOR = pid("371082", "19950505", "023")  # Rongcheng, gives blood
NEWCOMER = pid("110105", "19900101", "035")  # moved to Rongcheng three months ago
SUQIAN = pid("321322", "19970707", "047")
MINOR = pid("371082", "20100101", "059")

Ingest = Callable[[list[dict[str, Any]]], Any]


def open_test_registry(path: Path) -> Registry:
    reg = open_registry(Settings(database_url=f"sqlite:///{path}"), migrate_schema=True)
    with reg.uow() as uow:
        seed_reference_authorities(uow, reg.pack)
        for code, kind in (("RC-HEALTH", "health"), ("RC-UTIL", "utility_regulator")):
            cats = frozenset(
                c.id for c in reg.pack.categories.values() if kind in c.authority_kinds
            )
            uow.authorities.add(Authority(code, code, kind, cats))
        uow.commit()
    return reg


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    r = open_test_registry(tmp_path / "registry.db")
    for s, region, since in (
        (DEBTOR, "371082", D(2000, 1, 1)),
        (DONOR, "371082", D(2010, 1, 1)),
        (NEWCOMER, "371082", D(2026, 3, 1)),
        (SUQIAN, "321322", D(1990, 1, 1)),
        (MINOR, "371082", D(2010, 1, 1)),
    ):
        scoring.set_residence(r, s, region, since)
    return r


@pytest.fixture
def ingest(reg: Registry) -> Ingest:
    n = [0]

    def run(rows: list[dict[str, Any]]) -> Any:
        n[0] += 1
        data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows).encode()
        rep = ingest_bytes(
            reg.uow(), data, "jsonl", source=f"b{n[0]}.jsonl", pack=reg.pack, today=D(2026, 12, 31)
        )
        assert not rep.rejected, rep.rejected
        return rep

    return run


def listed(auth: str, case: str, cat: str, subject: str, day: str, **kw: Any) -> dict[str, Any]:
    return {
        "authority": auth,
        "case_number": case,
        "category": cat,
        "subject_id": subject,
        "subject_name": "某人",
        "decision_date": day,
        "legal_basis": "basis",
        **kw,
    }


def event(auth: str, case: str, kind: str, day: str, reason: str | None = None) -> dict[str, Any]:
    return {
        "event": kind,
        "authority": auth,
        "case_number": case,
        "event_date": day,
        "reason": reason,
    }


def test_scoring_only_categories_are_ingested_for_persons_only(reg: Registry) -> None:
    rows = [
        listed("RC-HEALTH", "H1", "civic.blood_donation", DONOR, "2026-02-01"),
        listed("RC-HEALTH", "H2", "civic.blood_donation", "91110000600037341L", "2026-02-01"),
        listed("CAAC", "X1", "civic.blood_donation", DONOR, "2026-02-01"),
    ]
    data = "".join(json.dumps(x) + "\n" for x in rows).encode()
    rep = ingest_bytes(reg.uow(), data, "jsonl", source="x", pack=reg.pack, today=D(2026, 12, 31))
    assert rep.accepted == 1
    bad = {(p.line, p.field) for p in rep.rejected}
    assert bad == {(2, "category"), (3, "category")}
    # Scoring-only categories restrict nothing.
    assert not reg.pack.measures_for_list(reg.pack.categories["civic.blood_donation"].list_id)


def test_subject_scores_explains_history_and_counterfactuals(reg: Registry, ingest: Ingest) -> None:
    ingest([listed("SPC-SD-LX", "E1", "court.defaulter.refuses", DEBTOR, "2026-03-02",
                   amount_owed="5000")])  # fmt: skip
    assert scoring.subject_scores(reg, DEBTOR, D(2026, 3, 1))[0]["score"] == 1000
    scoring.rescore_subject(reg, DEBTOR, D(2026, 3, 1))
    scoring.rescore_subject(reg, DEBTOR, D(2026, 3, 2))
    scoring.rescore_subject(reg, DEBTOR, D(2026, 3, 3))  # unchanged: no new row
    (s,) = scoring.subject_scores(reg, DEBTOR, ON)
    assert (s["programme"], s["score"], s["grade"]) == ("rongcheng", 950, "B")
    assert any("-50 Sued and found in breach" in line for line in s["explanation"])
    (cf,) = [c for c in s["counterfactuals"] if c["kind"] == "fulfil"]
    assert cf["grade"] == "A" and cf["records"] == ["SPC-SD-LX/E1"]
    assert [(h["as_of"], h["score"]) for h in s["history"]] == [
        ("2026-03-01", 1000),
        ("2026-03-02", 950),
    ]
    ingest([event("SPC-SD-LX", "E1", "fulfilled", "2026-04-01")])
    assert scoring.subject_scores(reg, DEBTOR, ON)[0]["score"] == 1000


def test_ineligible_subjects_get_no_score(reg: Registry) -> None:
    assert scoring.subject_scores(reg, NEWCOMER, ON) == []  # resident < 1 year
    assert scoring.subject_scores(reg, NEWCOMER, D(2027, 3, 1))[0]["grade"] == "A"
    assert scoring.subject_scores(reg, MINOR, ON) == []
    assert scoring.subject_scores(reg, pid("110105", "19800101", "071"), ON) == []
    assert scoring.subject_scores(reg, "91110000600037341L", ON) == []
    with pytest.raises(InvalidInput, match="subject_id"):
        scoring.subject_scores(reg, "12345", ON)


def test_top_grades_earn_incentives(reg: Registry, ingest: Ingest) -> None:
    ingest([listed("RC-HEALTH", f"H{m}", "civic.blood_donation", DONOR, f"2026-0{m}-01")
            for m in (1, 2, 3)])  # fmt: skip
    (s,) = scoring.subject_scores(reg, DONOR, ON)
    assert (s["score"], s["grade"]) == (1030, "AA")
    got = scoring.benefits_for(reg, DONOR, "deposit.waiver", ON)
    assert [b["measure"] for b in got] == ["rongcheng.deposit_waiver"]
    assert scoring.benefits_for(reg, DONOR, "flight", ON) == []
    assert scoring.benefits_for(reg, DEBTOR, "deposit.waiver", ON) == []  # grade A: none
    assert scoring.benefits_for(reg, DONOR, "deposit.waiver", D(2027, 3, 2)) == []  # expired


def test_bulk_recompute_agrees_with_subject_scores(reg: Registry, ingest: Ingest) -> None:
    ingest([
        listed("SPC-SD-LX", "E1", "court.defaulter.refuses", DEBTOR, "2026-03-02"),
        listed("RC-UTIL", "U1", "utility.late_fees", DEBTOR, "2026-01-05"),
        listed("RC-HEALTH", "H1", "civic.blood_donation", DONOR, "2026-01-05"),
        listed("RC-UTIL", "U2", "utility.late_fees", SUQIAN, "2026-01-05"),
    ])  # fmt: skip
    ingest([event("RC-UTIL", "U1", "withdrawn", "2026-05-01", "listed_in_error")])
    out = {o["programme"]: o for o in scoring.recompute(reg, ON)}
    assert out["rongcheng"]["eligible"] == 2 and out["suqian"]["eligible"] == 1
    for s in (DEBTOR, DONOR, SUQIAN):
        (mine,) = scoring.subject_scores(reg, s, ON)
        assert mine["history"][-1]["score"] == mine["score"], s
    assert scoring.subject_scores(reg, SUQIAN, ON)[0]["score"] == 980
    again = scoring.recompute(reg, ON)
    assert sum(o["history_rows_written"] for o in again) == 3  # same day replaced, not added


def test_switching_a_programme_off_removes_its_scores_everywhere(
    reg: Registry, ingest: Ingest
) -> None:
    ingest([listed("RC-HEALTH", f"H{m}", "civic.blood_donation", DONOR, f"2026-0{m}-01")
            for m in (1, 2, 3)])  # fmt: skip
    scoring.recompute(reg, ON)
    assert scoring.history_count(reg, "rongcheng") == 2
    with pytest.raises(InvalidInput, match="programme"):
        scoring.set_switch(reg, "atlantis", False, "no such place")
    with pytest.raises(InvalidInput, match="reason"):
        scoring.set_switch(reg, "rongcheng", False, " ")
    done = scoring.set_switch(reg, "rongcheng", False, "AI Act Art. 5(1)(c)")
    assert done["scores_removed"] == 2 and done["in_force"] == ["suqian"]
    with reg.engine.connect() as c:
        n = c.execute(
            select(func.count())
            .select_from(score_history)
            .where(score_history.c.programme == "rongcheng")
        ).scalar_one()
    assert n == 0
    assert scoring.subject_scores(reg, DONOR, ON) == []
    assert scoring.benefits_for(reg, DONOR, "deposit.waiver", ON) == []
    assert [o["programme"] for o in scoring.recompute(reg, ON)] == ["suqian"]
    assert scoring.history_count(reg, "rongcheng") == 0
    assert scoring.subject_scores(reg, SUQIAN, ON)[0]["programme"] == "suqian"
    # All off: nothing anywhere; back on, scores return at the next recomputation.
    scoring.set_switch(reg, "*", False, "no scoring in this jurisdiction")
    assert scoring.history_count(reg) == 0 and scoring.recompute(reg, ON) == []
    scoring.set_switch(reg, "*", True, "pilot resumed")
    scoring.set_switch(reg, "rongcheng", True, "pilot resumed")
    assert scoring.subject_scores(reg, DONOR, ON)[0]["grade"] == "AA"


def test_residence_input_is_checked(reg: Registry) -> None:
    with pytest.raises(InvalidInput, match="region_code"):
        scoring.set_residence(reg, DONOR, "37108", D(2020, 1, 1))
    with pytest.raises(InvalidInput, match="only natural persons"):
        scoring.set_residence(reg, "91110000600037341L", "371082", D(2020, 1, 1))


# --- the store path: bulk from the store equals the per-subject path, on random histories ---

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SCORED = [
    ("RC-UTIL", "utility.late_fees"),
    ("RC-UTIL", "utility.theft"),
    ("RC-HEALTH", "civic.blood_donation"),
    ("SPC-SD-LX", "court.defaulter.refuses"),
    ("SPC-SD-LX", "finance.card_arrears"),
    ("SPC-SD-LX", "credit.contract_default"),
    ("CR", "rail.fare_evasion"),
]
PEOPLE = [DEBTOR, DONOR, NEWCOMER, MINOR, pid("371082", "19891231", "083")]
day = st.integers(0, 900).map(lambda k: D(2024, 1, 1) + dt.timedelta(days=k))


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dt.date]:
    listed_rows, events = [], []
    for k in range(draw(st.integers(0, 12))):
        auth, cat = draw(st.sampled_from(SCORED))
        who = draw(st.sampled_from([p for p in PEOPLE if p != MINOR]))
        decided = draw(day)
        listed_rows.append(listed(auth, f"K{k}", cat, who, decided.isoformat()))
        for kind in ("fulfilled", "withdrawn", "repaired"):
            if draw(st.booleans()) and draw(st.booleans()):
                later = decided + dt.timedelta(days=draw(st.integers(1, 400)))
                reason = "listed_in_error" if kind == "withdrawn" else None
                events.append(event(auth, f"K{k}", kind, later.isoformat(), reason))
    return listed_rows, events, draw(day)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(histories())
def test_bulk_from_the_store_equals_subject_scores(
    tmp_path: Path, h: tuple[list[dict[str, Any]], list[dict[str, Any]], dt.date]
) -> None:
    import uuid

    from socialcredit.registry.ingest import ingest_bytes as ingest_raw

    rows, events, on = h
    reg = open_test_registry(tmp_path / f"{uuid.uuid4().hex}.db")
    for s in PEOPLE:
        scoring.set_residence(reg, s, "371082", D(2023, 6, 1))
    for batch in (rows, sorted(events, key=lambda e: e["event_date"])):
        if batch:
            data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in batch).encode()
            rep = ingest_raw(
                reg.uow(), data, "jsonl", source=uuid.uuid4().hex, pack=reg.pack,
                today=D(2027, 12, 31),
            )  # fmt: skip
            assert not rep.rejected, rep.rejected
    prog = scoring.document(reg).pack.programme_for("371082")
    assert prog is not None
    with reg.engine.connect() as conn:
        bulk = scoring.region_scores(conn, prog, on)
    assert bulk is not None
    for i, s in enumerate(bulk.subject_ids):
        mine = scoring.subject_scores(reg, s, on)
        if not bulk.scores.eligible[i]:
            assert mine == [], s
            continue
        (one,) = mine
        got = (int(bulk.scores.score[i]), bulk.scores.grade_names[bulk.scores.grade[i]])
        assert got == (one["score"], one["grade"]), (s, on)


def test_follow_changes_rescores_residents_named_by_records_events_and_moves(
    reg: Registry, ingest: Ingest
) -> None:
    from socialcredit.scoring.follow import follow_changes

    # The fixture's five residences are changes too: a first run scores the eligible ones.
    first = follow_changes(reg, ON)
    assert (first["changes"], first["rescored"]) == (5, 3)  # not the minor, not the newcomer
    assert follow_changes(reg, ON) == {"changes": 0, "rescored": 0, "changed": 0}

    # A new record (with no manual feed entry) moves the debtor's score.
    outsider = pid("110105", "19800101", "095")  # has no residence: dropped before scoring
    ingest([listed("RC-UTIL", "U1", "utility.late_fees", DEBTOR, "2026-01-05"),
            listed("RC-UTIL", "U2", "utility.late_fees", outsider, "2026-01-05")])  # fmt: skip
    got = follow_changes(reg, ON)
    assert got == {"changes": 2, "rescored": 1, "changed": 1}
    assert scoring.subject_scores(reg, DEBTOR, ON)[0]["history"][-1]["score"] == 980

    # A later event on the record (the fee paid) is a change as well.
    ingest([{"event": "fulfilled", "authority": "RC-UTIL", "case_number": "U1",
             "event_date": "2026-02-01"}])  # fmt: skip
    assert follow_changes(reg, ON)["changes"] == 1

    # So is a move: the outsider now lives in Rongcheng and is scored.
    scoring.set_residence(reg, outsider, "371082", D(2001, 1, 1))
    assert follow_changes(reg, ON) == {"changes": 1, "rescored": 1, "changed": 1}
    assert follow_changes(reg, ON)["changes"] == 0  # the marks moved on, and were stored


def test_a_bulk_recompute_of_today_lets_the_follower_start_after_it(
    reg: Registry, ingest: Ingest
) -> None:
    from socialcredit.scoring.follow import follow_changes

    ingest([listed("RC-UTIL", "U1", "utility.late_fees", DEBTOR, "2026-01-05")])
    scoring.recompute(reg, D(2026, 1, 31))  # a past day: today's scores are not all known
    assert follow_changes(reg, ON)["changes"] == 5  # five residences; the debtor once
    ingest([listed("RC-UTIL", "U2", "utility.late_fees", DONOR, "2026-01-06")])
    reg.clock = lambda: dt.datetime(2026, 6, 30, 4, 0, tzinfo=dt.UTC)
    scoring.recompute(reg, ON)  # today: everything seen so far is in these scores
    assert follow_changes(reg, ON)["changes"] == 0


def test_scores_follow_watch_runs_as_a_process_and_stops_on_sigint(
    reg: Registry, ingest: Ingest, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    env = os.environ | {"SOCIALCREDIT_DATABASE_URL": str(reg.engine.url)}
    cli = str(Path(sys.executable).parent / "socialcredit")
    exe = [cli, "scores", "follow", "--watch", "--json"]
    proc = subprocess.Popen(
        [*exe, "--on", ON.isoformat(), "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            hist = scoring.subject_scores(reg, DEBTOR, ON)
            if hist and hist[0]["history"]:
                break
            time.sleep(0.2)
        ingest([listed("RC-UTIL", "U1", "utility.late_fees", DEBTOR, "2026-01-05")])
        while time.monotonic() < deadline:
            if scoring.subject_scores(reg, DEBTOR, ON)[0]["history"][-1]["score"] == 980:
                break
            time.sleep(0.2)
        assert scoring.subject_scores(reg, DEBTOR, ON)[0]["history"][-1]["score"] == 980
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()  # no stray process for later tests to trip over
            out, err = proc.communicate()
            pytest.fail(f"scores follow --watch did not stop on SIGINT within 30 s: {err}")
    assert proc.returncode == 0, err
    assert '"rescored"' in out and "Traceback" not in err


def test_screening_api_shows_a_grade_incentive_as_an_allow_with_a_benefit(
    reg: Registry, ingest: Ingest
) -> None:
    from socialcredit.screening.api import Request, ScreeningRuntime
    from socialcredit.screening.parties import KeyInfo, RelyingParty
    from socialcredit.screening.service import Screener

    ingest([listed("RC-HEALTH", f"H{m}", "civic.blood_donation", DONOR, f"2026-0{m}-01")
            for m in (1, 2, 3)])  # fmt: skip
    reg.clock = lambda: dt.datetime(2026, 6, 30, 4, 0, tzinfo=dt.UTC)
    bank = KeyInfo("t", RelyingParty("BANK", "bank", frozenset({"deposit.waiver", "flight"}), True))
    rt = ScreeningRuntime(reg, Screener.build(reg))
    # Screening reads the grades scoring publishes; it never scores a subject per request.
    unpublished = rt.screen(bank, Request(DONOR, "某人", "deposit.waiver", "deposit"))
    assert unpublished["decision"] == "allow" and unpublished["benefit"] is None
    scoring.rescore_subject(reg, DONOR, reg.today())  # what the scoring follower does
    got = rt.screen(bank, Request(DONOR, "某人", "deposit.waiver", "deposit"))
    assert got["decision"] == "allow" and got["benefit"] == "rongcheng.deposit_waiver"
    assert "rongcheng.deposit_waiver" in got["explanation"]
    flight = rt.screen(bank, Request(DONOR, "某人", "flight", "ticket sale"))
    assert flight["decision"] == "allow" and flight["benefit"] is None
