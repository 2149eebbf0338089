"""Finding 5 of issue 14: one hostile line in an authority's file is that line's error; the
good lines are kept and the command never crashes (a RecursionError gave exit 70, pyarrow's
reader segfaulted at 20,000 deep, one GBK line rejected a whole CSV, a ragged GBK row printed
a traceback). Run through the real CLI in a subprocess: a segfault fails the test, not the
test run.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DEFAULTER, SMOKER, Run

GOOD: dict[str, Any] = {
    "authority": "SPC-BJ-HD",
    "case_number": "(2026)京0108执1234号",
    "category": "court.defaulter.refuses",
    "subject_id": DEFAULTER,
    "subject_name": "王建国",
    "decision_date": "2026-03-02",
    "legal_basis": "SPC Provisions on the List of Dishonest Judgment Defaulters, Art. 1(1)",
    "amount_owed": "182000.00",
}
OTHER = {
    **GOOD,
    "case_number": "(2026)京0108执5678号",
    "subject_id": SMOKER,
    "subject_name": "李娜",
}


def _report(run: Run, path: Path) -> dict[str, Any]:
    r = run("ingest", str(path), "--json")
    assert r.returncode in (0, 1), (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr
    report: dict[str, Any] = json.loads(r.stdout)
    return report


def _bad_lines(report: dict[str, Any]) -> set[int]:
    return {p["line"] for p in report["rejected"]}


@pytest.mark.parametrize("depth", [1_000, 20_000])
def test_a_deeply_nested_line_is_one_bad_line(run: Run, tmp_path: Path, depth: int) -> None:
    deep = json.dumps({**GOOD, "case_number": "X-1"})[:-1] + ', "x": ' + "[" * depth + "]" * depth
    lines = [
        json.dumps(GOOD, ensure_ascii=False),
        deep + "}",
        json.dumps(OTHER, ensure_ascii=False),
    ]
    f = tmp_path / "deep.jsonl"
    f.write_text("\n".join(lines) + "\n", "utf-8")
    report = _report(run, f)
    assert report["accepted"] == 2 and _bad_lines(report) == {2}


def test_nul_and_a_10k_name_are_bad_lines_and_echoes_are_short(run: Run, tmp_path: Path) -> None:
    lines = [
        json.dumps(GOOD, ensure_ascii=False),
        json.dumps({**GOOD, "case_number": "N-1", "subject_name": "王\u0000国"}),
        json.dumps({**GOOD, "case_number": "N-2", "subject_name": "王" * 10_000}),
        json.dumps(OTHER, ensure_ascii=False),
    ]
    f = tmp_path / "nul.jsonl"
    f.write_text("\n".join(lines) + "\n", "utf-8")
    report = _report(run, f)
    assert report["accepted"] == 2 and _bad_lines(report) == {2, 3}
    assert all(len(p["value"] or "") <= 200 for p in report["rejected"])


def _csv(rows: list[dict[str, Any]], header: bool = True) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(GOOD)
    w.writerows([[r[k] for k in GOOD] for r in rows])
    return buf.getvalue().encode()


def test_one_gbk_line_in_a_csv_is_one_bad_line(run: Run, tmp_path: Path) -> None:
    data = (
        _csv([GOOD])
        + ",".join(str(v) for v in {**OTHER, "case_number": "G-1"}.values()).encode("gbk")
        + b"\n"
        + _csv([OTHER]).split(b"\n", 1)[1]
    )
    f = tmp_path / "gbk.csv"
    f.write_bytes(data)
    report = _report(run, f)
    assert report["accepted"] == 2 and _bad_lines(report) == {3}


def test_a_ragged_gbk_row_is_one_bad_line_not_a_traceback(run: Run, tmp_path: Path) -> None:
    ragged = "X-9,王建国,extra,fields,here".encode("gbk")
    data = _csv([GOOD]) + ragged + b"\n" + _csv([OTHER], header=False)
    f = tmp_path / "ragged.csv"
    f.write_bytes(data)
    report = _report(run, f)
    assert report["accepted"] == 2 and _bad_lines(report) == {3}
