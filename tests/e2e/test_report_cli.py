"""The report and scores commands as a user runs them: files written, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Run


def test_report_writes_json_html_and_csv(run: Run, records_file: Path, tmp_path: Path) -> None:
    run("ingest", str(records_file))
    out = tmp_path / "report"
    r = run("report", "--year", "2026", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["totals"]["listings"]["new_blacklist_records"] == 2
    assert (out / "report-2026.html").read_text("utf-8").count("<svg") >= 7
    assert (out / "listings.csv").read_text("utf-8").startswith("month,")
    human = run("report", "--year", "2026")
    assert human.returncode == 0 and "subjects newly listed" in human.stdout


def test_bad_years_and_programmes_are_clear_errors(run: Run) -> None:
    r = run("report", "--year", "1999")
    assert r.returncode == 2 and "year" in r.stderr and "Traceback" not in r.stderr
    r = run("report", "--year", "soon")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run("scores", "switch", "atlantis", "--off", "--reason", "x")
    assert r.returncode == 2 and "programme" in r.stderr and "atlantis" in r.stderr


def test_scores_programmes_and_switch(run: Run) -> None:
    progs = json.loads(run("scores", "programmes", "--json").stdout)
    assert {p["id"]: p["in_force"] for p in progs} == {"rongcheng": True, "suqian": True}
    r = run("scores", "switch", "*", "--off", "--reason", "no scoring here", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["in_force"] == []
    progs = json.loads(run("scores", "programmes", "--json").stdout)
    assert not any(p["in_force"] for p in progs)
