"""End-to-end fixtures: the real ``socialcredit`` command against a fresh SQLite registry.

- ``registry_env``: environment for a new registry in a temp dir, initialised with
  ``socialcredit init`` (migrations + reference authorities).
- ``run``: runs the installed CLI as a subprocess in that environment, returning the result.
- ``records_file``: a JSONL batch of realistic records with exactly one bad line (line 3).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from socialcredit.domain.identity import ric_check_char

CLI = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or "socialcredit"

Run = Callable[..., subprocess.CompletedProcess[str]]


def person_id(region: str, born: str, seq: str) -> str:
    first = region + born + seq
    return first + ric_check_char(first)


DEFAULTER = person_id("110108", "19800512", "123")
SMOKER = person_id("310115", "19921103", "246")
CLEAN = person_id("110101", "19750101", "135")


@pytest.fixture
def registry_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["SOCIALCREDIT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'registry.db'}"
    env["SOCIALCREDIT_OPERATOR_TOKEN"] = "test-operator-token"
    env["COLUMNS"] = "200"
    subprocess.run([CLI, "init"], env=env, check=True, capture_output=True, text=True)
    return env


@pytest.fixture
def run(registry_env: dict[str, str]) -> Run:
    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, *args], env=registry_env, capture_output=True, text=True, timeout=120
        )

    return _run


@pytest.fixture
def records_file(tmp_path: Path) -> Path:
    rows = [
        {
            "authority": "SPC-BJ-HD",
            "case_number": "(2026)京0108执1234号",
            "category": "court.defaulter.refuses",
            "subject_id": DEFAULTER,
            "subject_name": "王建国",
            "decision_date": "2026-03-02",
            "legal_basis": "SPC Provisions on the List of Dishonest Judgment Defaulters, Art. 1(1)",
            "amount_owed": "182000.00",
        },
        {
            "authority": "CR",
            "case_number": "CR-2026-000871",
            "category": "rail.smoking_on_emu",
            "subject_id": SMOKER,
            "subject_name": "李娜",
            "decision_date": "2026-04-10",
            "legal_basis": "NDRC et al. 2018 No. 384, item (2)",
        },
        {  # line 3: the check character is wrong
            "authority": "CAAC",
            "case_number": "CAAC-2026-0042",
            "category": "air.prohibited_items",
            "subject_id": DEFAULTER[:-1] + ("0" if DEFAULTER[-1] != "0" else "1"),
            "subject_name": "赵强",
            "decision_date": "2026-05-06",
            "legal_basis": "NDRC et al. 2018 No. 385, category A (4)",
        },
    ]
    p = tmp_path / "batch.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return p
