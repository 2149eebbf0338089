"""The notice worker as a real process killed with SIGKILL mid-delivery, and audit entries
tampered with on purpose, both through the installed ``socialcredit`` command.

The SMTP server (aiosmtpd, 127.0.0.1) holds the first message unacknowledged: the worker has
sent every byte and waits for the 250 when it is killed. Restarted after its lease has expired
(the clock file moves 10 minutes on; nothing sleeps), it sends that notice again: every notice
arrives exactly once and the store says delivered.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.e2e.conftest import CLI, DEFAULTER, SMOKER, Run
from tests.integration.dueprocess_support import SmtpSink, free_port


def test_worker_killed_mid_delivery_neither_loses_nor_double_sends(
    registry_env: dict[str, str], run: Run, records_file: Path, tmp_path: Path
) -> None:
    sink = SmtpSink(port=free_port(), hold_next=True)
    ctl = Controller(sink, hostname="127.0.0.1", port=sink.port)
    ctl.start()
    clock = tmp_path / "clock"
    clock.write_text("2026-06-01T02:00:00")
    env = {
        **registry_env,
        "SOCIALCREDIT_SMTP_PORT": str(sink.port),
        "SOCIALCREDIT_CLOCK": f"file:{clock}",
    }
    try:
        run("ingest", str(records_file))
        for sid, mail in ((DEFAULTER, "wang@example.test"), (SMOKER, "li@example.test")):
            assert run("contact", "set", sid, mail).returncode == 0
        worker = subprocess.Popen(
            [CLI, "notices", "work"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            assert sink.arrived.wait(60), "the worker never reached the SMTP server"
            os.kill(worker.pid, signal.SIGKILL)
            assert worker.wait(30) == -signal.SIGKILL
        finally:
            sink.release.set()
        assert sink.accepted == []  # held, unacknowledged, then the client died
        # Before the lease expires a new worker leaves the claimed notices alone ...
        again = subprocess.run(
            [CLI, "notices", "work", "--once", "--json"], env=env, capture_output=True, text=True
        )
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["delivered"] == 0
        # ... and after it expires, sends them: once each.
        clock.write_text((dt.datetime(2026, 6, 1, 2) + dt.timedelta(minutes=10)).isoformat())
        after = subprocess.run(
            [CLI, "notices", "work", "--once", "--json"], env=env, capture_output=True, text=True
        )
        assert json.loads(after.stdout)["delivered"] == 2, after.stderr
    finally:
        ctl.stop()
    ids = [m["Message-ID"] for m in sink.accepted]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert sorted(m["To"] for m in sink.accepted) == ["li@example.test", "wang@example.test"]
    db = registry_env["SOCIALCREDIT_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT status, attempts FROM notices ORDER BY id").fetchall()
    assert rows == [("delivered", 2), ("delivered", 2)]  # the killed claim counts as a try


def test_audit_entries_tampered_with_are_named_by_the_transparency_log(
    registry_env: dict[str, str], run: Run, records_file: Path
) -> None:
    """The audit trail is part of the transparency log: ``audit verify`` is ``log verify``;
    the old chain's heads are refused with a clear message (exit 2), never an internal error."""
    run("ingest", str(records_file))
    for i, sid in enumerate((DEFAULTER, SMOKER, DEFAULTER, SMOKER, DEFAULTER)):
        assert run("contact", "set", sid, f"s{i}@example.test").returncode == 0
    assert run("log", "head", "--sign").returncode == 0
    ok = run("audit", "verify", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True, ok.stdout
    db = registry_env["SOCIALCREDIT_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as c:
        c.execute("UPDATE audit_log SET actor = 'nobody' WHERE seq = 3")
    bad = run("audit", "verify")
    assert bad.returncode == 1
    assert "audit 3 was edited after it was logged" in bad.stderr
    with sqlite3.connect(db) as c:
        c.execute("UPDATE audit_log SET actor = 'operator' WHERE seq = 3")
        c.execute("DELETE FROM audit_log WHERE seq = 4")
    gone = json.loads(run("audit", "verify", "--json").stdout)
    assert gone["ok"] is False
    assert [(b["kind"], b["ref"], b["problem"]) for b in gone["bad_leaves"]] == [
        ("audit", "4", "deleted")
    ]
    for args in (("audit", "verify", "--head", "abc"), ("audit", "head")):
        retired = run(*args)
        assert retired.returncode == 2, retired.stderr
        assert "retired" in retired.stderr and "internal error" not in retired.stderr
