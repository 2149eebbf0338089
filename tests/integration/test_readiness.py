"""Finding 7 of issue 14: readiness apart from liveness, and a snapshot after a large delta.

A screening runtime is not ready until its watcher has caught up with the change feed; a
round that redoes many subjects writes the snapshot, so a restart replays only what follows.
The HTTP routes: ``/health/live`` always, ``/health/ready`` 503 until the index is current.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest
from tests.integration.dueprocess_support import ingest, person_id

from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.screening import api
from socialcredit.screening.api import ScreeningRuntime
from socialcredit.screening.service import Screener
from socialcredit.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _row(i: int) -> dict[str, str]:
    return {
        "authority": "SPC-BJ-HD",
        "case_number": f"(2026)京0108执{i}号",
        "category": "court.defaulter.refuses",
        "subject_id": person_id("110108", "19800512", f"{i:03d}"),
        "subject_name": "王建国",
        "decision_date": "2026-03-02",
        "legal_basis": "SPC Provisions on the List of Dishonest Judgment Defaulters, Art. 1(1)",
        "amount_owed": "1000.00",
    }


def test_ready_only_once_caught_up_and_a_large_round_snapshots(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg: Registry = open_registry(Settings(database_url=db_url), migrate_schema=True)
    snap = tmp_path / "snap"
    rt = ScreeningRuntime(reg, Screener.build(reg), snapshot=snap, poll=0.05)
    assert rt.readiness()[0] is False  # not started
    monkeypatch.setattr(api, "SNAPSHOT_AFTER", 5)
    ingest(reg, [_row(i) for i in range(1, 9)], "2026-04-01")  # 8 subjects since the build
    rt.start()
    try:
        deadline = time.monotonic() + 30
        while not rt.readiness()[0] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rt.readiness() == (True, "caught up")
        assert (snap / "state.json").is_file()  # the 8-subject round was snapshotted
        restored = Screener.restore(reg, snap)
        assert restored.refresh(reg) == 0  # nothing left to replay after a restart
    finally:
        rt.stop()
        reg.engine.dispose()


def test_live_and_ready_routes(tmp_path: Path) -> None:
    from socialcredit.web.app import create_app

    reg = open_registry(
        Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}"), migrate_schema=True
    )
    app = create_app(reg)
    client = TestClient(app)  # no lifespan: the index is not loaded
    assert client.get("/health/live").status_code == 200
    r = client.get("/health/ready")
    assert r.status_code == 503 and r.json()["status"] in ("starting", "stale")
    with TestClient(app) as served:  # the lifespan loads the index and starts the watcher
        deadline = time.monotonic() + 30
        while served.get("/health/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert served.get("/health/ready").json()["status"] == "ready"
    reg.engine.dispose()
