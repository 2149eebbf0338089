"""The CLI session the README shows: ingest a file with one bad line, check, show a file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import CLEAN, DEFAULTER, SMOKER, Run


def test_ingest_reports_the_bad_line_and_keeps_the_good_ones(run: Run, records_file: Path) -> None:
    r = run("ingest", str(records_file), "--json")
    assert r.returncode == 1, r.stderr
    report = json.loads(r.stdout)
    assert report["accepted"] == 2
    (bad,) = report["rejected"]
    assert bad["line"] == 3 and bad["field"] == "subject_id"
    assert "check character" in bad["reason"]
    again = json.loads(run("ingest", str(records_file), "--json").stdout)
    assert again["already_ingested"] is True and again["batch_id"] == report["batch_id"]
    d = json.loads(run("subject", "show", DEFAULTER, "--json").stdout)
    assert len(d["records"]) == 1 and len(d["records"][0]["events"]) == 1


def test_check_allows_and_denies_with_reasons(run: Run, records_file: Path) -> None:
    run("ingest", str(records_file))
    deny = json.loads(
        run("check", DEFAULTER, "--sector", "flight", "--on", "2026-06-01", "--json").stdout
    )
    assert deny["decision"] == "deny"
    assert deny["until"] is None and "performed" in deny["until_condition"]
    assert deny["reasons"][0]["rule_id"] == "court.defaulter.refuses"
    assert deny["reasons"][0]["records"][0]["case_number"] == "(2026)京0108执1234号"
    assert deny["rulepack_version"]
    std = json.loads(
        run("check", DEFAULTER, "--sector", "rail.standard", "--on", "2026-06-01", "--json").stdout
    )
    assert std["decision"] == "allow"
    clean = json.loads(run("check", SMOKER, "--sector", "flight", "--json").stdout)
    assert clean["decision"] == "allow" and clean["reasons"] == []
    # as the screening API: an ID the registry does not hold is refused, not allowed
    assert run("check", CLEAN, "--sector", "flight").returncode == 2
    rail = json.loads(
        run("check", SMOKER, "--sector", "rail.standard", "--on", "2026-06-01", "--json").stdout
    )
    assert rail["decision"] == "deny" and rail["until"]
    human = run("check", DEFAULTER, "--sector", "flight", "--on", "2026-06-01")
    assert "DENY" in human.stdout and "court.defaulter" in human.stdout


def test_subject_show(run: Run, records_file: Path) -> None:
    run("ingest", str(records_file))
    d = json.loads(run("subject", "show", DEFAULTER, "--on", "2026-06-01", "--json").stdout)
    assert d["subject"]["name"] == "王建国"
    assert d["records"][0]["amount_owed"] == "182000.00"
    sectors = {x["sector"] for x in d["restrictions"] if x["status"] == "active"}
    assert {"flight", "rail.high_class", "property.purchase"} <= sectors
    human = run("subject", "show", DEFAULTER, "--on", "2026-06-01")
    assert human.returncode == 0 and "王建国" in human.stdout


def test_bad_input_is_a_clear_error_not_a_traceback(run: Run) -> None:
    r = run("check", "12345", "--sector", "flight")
    assert r.returncode == 2
    assert "18 characters" in r.stderr and "Traceback" not in r.stderr
    r = run("check", DEFAULTER, "--sector", "spaceflight")
    assert r.returncode == 2 and "sector" in r.stderr
    r = run("check", DEFAULTER, "--sector", "flight", "--on", "2026-02-30")
    assert r.returncode == 2 and "--on" in r.stderr
    r = run("subject", "show", CLEAN)
    assert r.returncode == 2 and "not in the registry" in r.stderr
    r = run("ingest", "/nonexistent/file.jsonl")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_rules_show_and_authorities(run: Run) -> None:
    d = json.loads(run("rules", "show", "--json").stdout)
    assert any(c["id"] == "court.defaulter.refuses" for c in d["categories"])
    a = json.loads(run("authority", "list", "--json").stdout)
    assert any(x["code"] == "SPC-BJ-HD" for x in a)
    r = run(
        "authority",
        "add",
        "SPC-ZJ-HZ",
        "--name",
        "Hangzhou Intermediate Court",
        "--kind",
        "court",
        "--json",
    )
    assert r.returncode == 0 and "court.defaulter.refuses" in json.loads(r.stdout)["categories"]
    r = run("authority", "add", "SPC-ZJ-HZ", "--name", "again", "--kind", "court")
    assert r.returncode == 2 and "already registered" in r.stderr


def test_calendar_load(run: Run, tmp_path: Path) -> None:
    assert "2027" not in json.loads(run("calendar", "show", "--json").stdout)["known_years"]
    f = tmp_path / "2027.yaml"
    f.write_text("year: 2027\nholidays: [2027-10-01, 2027-10-04]\nworkdays: [2027-10-09]\n")
    assert run("calendar", "load", str(f)).returncode == 0
    assert 2027 in json.loads(run("calendar", "show", "--json").stdout)["known_years"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: 2027\nworkdays: [2027-10-04]\n")
    r = run("calendar", "load", str(bad))
    assert r.returncode == 2 and "workdays[0]" in r.stderr


def test_first_generation_and_full_width_ids(run: Run, tmp_path: Path) -> None:
    """A 15-digit number is stored in its 18-digit form and the line says so; a full-width
    or 15-digit query answers for the same subject."""
    line = {
        "authority": "SPC-BJ-HD",
        "case_number": "(2026)京0108执77号",
        "category": "court.defaulter.refuses",
        "subject_id": "110105491231002",
        "subject_name": "钱老",
        "decision_date": "2026-03-02",
        "legal_basis": "SPC Provisions on the List of Dishonest Judgment Defaulters, Art. 1(1)",
    }
    f = tmp_path / "old.jsonl"
    f.write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
    r = run("ingest", str(f), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["accepted"] == 1 and report["rejected"] == []
    (w,) = report["warnings"]
    assert (w["line"], w["field"], w["value"]) == (1, "subject_id", "110105491231002")
    assert "converted to 18 digits: 11010519491231002X" in w["reason"]
    for asked in ("110105491231002", "１１０１０５１９４９１２３１００２ｘ"):
        d = json.loads(
            run("check", asked, "--sector", "flight", "--on", "2026-06-01", "--json").stdout
        )
        assert (d["subject_id"], d["decision"]) == ("11010519491231002X", "deny")
