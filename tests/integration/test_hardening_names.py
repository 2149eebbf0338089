"""Finding 1 and 3 of issue 14: names cannot be guessed through the screening API, and every
look at a subject (answered or refused, however the ID was spelled) is in their own file.

- ``rt``: a screening runtime on a registry with one listed person (``LISTED``, 王建国),
  logging from a thread (flushed by the test), with a budget of 5 failed name checks and an
  alert past 5 refusals a minute; ``AIR`` is a relying party for flights.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.dueprocess_support import ingest, person_id

from socialcredit.dueprocess import subject_access
from socialcredit.errors import RegistryError
from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.screening.api import Request, ScreeningRuntime
from socialcredit.screening.parties import KeyInfo, RelyingParty
from socialcredit.screening.service import Screener
from socialcredit.settings import Settings

LISTED = person_id("110108", "19800512", "123")
UNLISTED = person_id("310115", "19921103", "246")  # registered, nothing restricts flights
UNKNOWN = person_id("110101", "19750101", "135")  # not in the registry
AIR = KeyInfo("airkey", RelyingParty("AIR", "an airline", frozenset({"flight"}), True))
OTHER = KeyInfo("othkey", RelyingParty("OTHER", "another", frozenset({"flight"}), True))
SLOW = KeyInfo("slowkey", RelyingParty("SLOW", "slow", frozenset({"flight"}), True, 60))
# the probe of the issue, shrunk: common given names, the real one well past the budget
CANDIDATES = [f"王{g}" for g in ("伟", "芳", "敏", "静", "丽", "强", "磊", "军", "洋")] + ["王建国"]


@pytest.fixture
def reg(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    monkeypatch.setenv("SOCIALCREDIT_NAME_CHECK_FAILURES", "5/24 hours")
    monkeypatch.setenv("SOCIALCREDIT_NAME_REFUSAL_ALERT", "5/minute")
    r = open_registry(Settings(database_url=db_url), migrate_schema=True)
    base = {
        "authority": "SPC-BJ-HD",
        "category": "court.defaulter.refuses",
        "decision_date": "2026-03-02",
        "legal_basis": "SPC Provisions on the List of Dishonest Judgment Defaulters, Art. 1(1)",
        "amount_owed": "1000.00",
    }
    ingest(
        r,
        [
            {
                **base,
                "case_number": "(2026)京0108执1号",
                "subject_id": LISTED,
                "subject_name": "王建国",
            },
            {
                "authority": "CR",
                "case_number": "CR-2026-1",
                "category": "rail.smoking_on_emu",
                "subject_id": UNLISTED,
                "subject_name": "李娜",
                "decision_date": "2026-03-10",
                "legal_basis": "NDRC et al. 2018 No. 384, item (2)",
            },
        ],
        "2026-04-01",
    )
    yield r
    r.engine.dispose()


@pytest.fixture
def rt(reg: Registry) -> Iterator[ScreeningRuntime]:
    runtime = ScreeningRuntime(reg, Screener.build(reg))
    yield runtime
    runtime.alerts.join()  # an alert row being written when the test ends


def _probe(rt: ScreeningRuntime, who: KeyInfo, sid: str) -> list[dict[str, Any]]:
    rows = [Request(sid, n, "flight", "probe") for n in CANDIDATES]
    return list(rt.screen_rows(who, rows))


def test_a_party_cannot_recover_a_name_with_more_tries_than_its_budget(
    rt: ScreeningRuntime, reg: Registry
) -> None:
    budget = 5
    out = _probe(rt, AIR, LISTED)
    # the real name (the last candidate) gets no decision: the budget was spent before it
    assert not any("decision" in o for o in out), out[-1]
    assert [o["error"] for o in out[:budget]] == ["invalid_input"] * budget
    assert {o["error"] for o in out[budget:]} == {"name_checks_exhausted"}
    assert all(o["subject_id"] == LISTED for o in out)  # error rows name their subject
    # nor through the single endpoint, with the right name
    with pytest.raises(RegistryError) as e:
        rt.screen(AIR, Request(LISTED, "王建国", "flight", "ticket sale"))
    assert e.value.status == 429 and e.value.code == "name_checks_exhausted"
    # the same answers, in the same shape, for an unlisted and an unknown ID
    for sid in (UNLISTED, UNKNOWN):
        other = _probe(rt, AIR, sid)
        shape = [(o["error"], sorted(o)) for o in other]
        assert shape == [(o["error"], sorted(o)) for o in out]
    # another party's budget is its own; the honest answer still comes back
    assert rt.screen(OTHER, Request(LISTED, "王建国", "flight", "t"))["decision"] == "deny"


def test_every_refused_name_is_in_the_subjects_file_and_alerts_the_operator(
    rt: ScreeningRuntime, reg: Registry
) -> None:
    _probe(rt, AIR, LISTED)
    rt.writer.flush()
    f = subject_access.own_file(reg, LISTED, None)
    refused = f["refused_screenings"]
    assert len(refused) == len(CANDIDATES)
    assert {r["relying_party"] for r in refused} == {"AIR"}
    assert {r["reason"] for r in refused} == {"name_mismatch", "name_checks_exhausted"}
    # more than five refusals in a minute: an alert row (written off the request path) and the route
    from socialcredit.screening.alerts import list_alerts

    deadline = time.monotonic() + 10
    while not list_alerts(reg) and time.monotonic() < deadline:
        time.sleep(0.05)
    alerts = list_alerts(reg)
    assert [(a["kind"], a["relying_party"]) for a in alerts] == [("name_refusal_spike", "AIR")]


def test_a_batch_counts_every_row_against_the_rate_limit(rt: ScreeningRuntime) -> None:
    rows = [Request(UNLISTED, "李娜", "flight", "t") for _ in range(100)]
    out = list(rt.screen_rows(SLOW, rows))
    answered = sum("decision" in o for o in out)
    assert answered <= 2  # 60 a minute: two seconds' worth of room, not 100 rows
    assert {o["error"] for o in out if "error" in o} == {"rate_limited"}


@pytest.mark.parametrize(
    "spelling",
    [
        LISTED.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")),  # full width
        LISTED.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),  # Arabic-Indic
        f"  {LISTED.lower()} ",
    ],
    ids=["full-width", "arabic-indic", "spaces"],
)
def test_a_screening_under_any_spelling_of_the_id_is_in_the_subjects_file(
    rt: ScreeningRuntime, reg: Registry, spelling: str
) -> None:
    single = rt.screen(AIR, Request(spelling, "王建国", "flight", "ticket sale"))
    (batch,) = rt.screen_rows(AIR, [Request(spelling, "王建国", "flight", "batch")])
    assert single["decision"] == batch["decision"] == "deny"
    rt.writer.flush()
    seen = {s["screening_id"] for s in subject_access.own_file(reg, LISTED, None)["screenings"]}
    assert {single["screening_id"], batch["screening_id"]} <= seen
    from socialcredit.store.tables_screening import screening_log

    with reg.engine.connect() as conn:
        logged = set(conn.execute(select(screening_log.c.subject_id)).scalars())
    assert logged == {LISTED}
