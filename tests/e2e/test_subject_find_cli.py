"""``socialcredit subject find``: who is denied a sector on a day, as the restriction engine
says (so a listing that has ended or not yet started is not offered as a "deny" example).

Uses the e2e ``run`` and ``records_file`` fixtures: a court defaulter (open-ended, every
sector the SPC memorandum names, flight included) and a rail smoker (rail only, 180 days
after a publicity period that runs from the next monthly publication).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DEFAULTER, SMOKER, Run


@pytest.fixture
def find(run: Run, records_file: Path) -> Any:
    run("ingest", str(records_file))  # exits 1: line 3 is refused, the others accepted

    def _find(*args: str) -> list[dict[str, Any]]:
        r = run("subject", "find", *args, "--json")
        assert r.returncode == 0, r.stderr + r.stdout
        return list(json.loads(r.stdout))

    return _find


def test_listed_in_flight_names_the_defaulter_with_what_ends_it(find: Any) -> None:
    found = find("--listed", "--sector", "flight", "--on", "2026-06-01")
    assert [f["subject_id"] for f in found] == [DEFAULTER]  # the smoker is denied rail only
    f = found[0]
    assert f["name"] == "王建国" and f["status"] == "active" and f["end"] is None
    assert "obligation is performed" in f["until_condition"]


def test_pending_active_and_ended_follow_the_engine(find: Any) -> None:
    rail = ("--sector", "rail.standard")
    pending = find("--pending", *rail, "--on", "2026-04-13")
    assert SMOKER in {f["subject_id"] for f in pending}
    assert all(f["status"] == "pending" for f in pending)
    assert SMOKER not in {f["subject_id"] for f in find("--listed", *rail, "--on", "2026-04-13")}
    active = {f["subject_id"]: f for f in find("--listed", *rail, "--on", "2026-06-01")}
    assert active[SMOKER]["name"] == "李娜" and active[SMOKER]["end"] is not None
    # after its 180 days the smoker is no longer offered as someone to deny
    assert SMOKER not in {f["subject_id"] for f in find("--listed", *rail, "--on", "2027-06-01")}


def test_limit_table_and_refusals(run: Run, find: Any) -> None:
    assert len(find("--sector", "rail.high_class", "--on", "2026-06-01", "--limit", "1")) == 1
    r = run("subject", "find", "--listed", "--sector", "flight", "--on", "2026-06-01")
    assert r.returncode == 0 and DEFAULTER in r.stdout and "王建国" in r.stdout
    bad = run("subject", "find", "--sector", "spaceflight")
    assert bad.returncode == 2 and "not a sector" in bad.stderr
    both = run("subject", "find", "--listed", "--pending", "--sector", "flight")
    assert both.returncode == 2
