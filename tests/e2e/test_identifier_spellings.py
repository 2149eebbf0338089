"""Finding 3 of issue 14 at the CLI and ingest entry points: an ID written with full-width or
Arabic-Indic digits is the same ID everywhere (the API and batch are pinned in
tests/integration/test_hardening_names.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import DEFAULTER, Run

FULL_WIDTH = DEFAULTER.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
ARABIC_INDIC = DEFAULTER.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


def test_ingest_and_check_normalise_the_id(run: Run, tmp_path: Path) -> None:
    row = {
        "authority": "SPC-BJ-HD",
        "case_number": "(2026)京0108执1234号",
        "category": "court.defaulter.refuses",
        "subject_id": FULL_WIDTH,
        "subject_name": "王建国",
        "decision_date": "2026-03-02",
        "legal_basis": "SPC Provisions on the List of Dishonest Judgment Defaulters, Art. 1(1)",
        "amount_owed": "182000.00",
    }
    f = tmp_path / "fw.jsonl"
    f.write_text(json.dumps(row, ensure_ascii=False) + "\n", "utf-8")
    report = json.loads(run("ingest", str(f), "--json").stdout)
    assert report["accepted"] == 1, report
    r = run("check", ARABIC_INDIC, "--sector", "flight", "--on", "2026-06-01", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["decision"] == "deny" and d["subject_id"] == DEFAULTER
