"""``socialcredit log``: sign a head, prove a leaf, verify; edit a row with sqlite3 and
``log verify`` names it; bad leaf numbers are clear errors, never tracebacks."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from socialcredit.integrity import audit
from socialcredit.store import make_engine

from .conftest import Run

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)


def _log_audit_rows(url: str, n: int) -> None:
    engine = make_engine(url)
    for i in range(n):
        with engine.begin() as conn:
            seq = audit.append(conn, NOW, "operator", "subject.read", subject_id=f"S{i}")
            assert seq == i + 1  # audit.append logs the entry as a leaf itself
    engine.dispose()


def test_tamper_and_detect_from_the_command_line(run: Run, registry_env: dict[str, str]) -> None:
    url = registry_env["SOCIALCREDIT_DATABASE_URL"]
    _log_audit_rows(url, 5)
    head = run("log", "head", "--sign")
    assert head.returncode == 0, head.stderr
    assert int(head.stdout.split("\n")[1]) >= 5  # the authorities init registered too
    key = run("log", "key")
    assert key.stdout.startswith("socialcredit.registry.invalid/log+")
    proof = run("log", "prove", "3", "--json")
    assert proof.returncode == 0, proof.stderr
    assert json.loads(proof.stdout)["verified"] is True
    assert run("log", "verify").returncode == 0

    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    db.execute("UPDATE audit_log SET actor = 'nobody' WHERE seq = 2")
    db.commit()
    db.close()
    bad = run("log", "verify")
    assert bad.returncode == 1
    assert ": audit 2 was edited after it was logged" in bad.stderr


def test_bad_leaf_numbers_are_clear_errors(run: Run) -> None:
    for arg in ("abc", "99999999999999999999999", "7"):
        r = run("log", "prove", arg, "--size", "0")
        assert r.returncode == 2, (arg, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
