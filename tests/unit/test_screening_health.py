"""Readiness: judged on when the index last caught up with the feed, without SQL."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from socialcredit.screening.health import readiness


def request(caught_up: float | None, error: str | None = None, started: bool = True) -> Any:
    rt = SimpleNamespace(
        started=started,
        watcher=SimpleNamespace(caught_up=caught_up, error=error),
        reg=SimpleNamespace(settings=SimpleNamespace(staleness_s=3.0)),
        screener=SimpleNamespace(feed=SimpleNamespace(marks={"records": 7}), source="snapshot"),
    )
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(screening=rt)))


def test_ready_while_the_index_is_within_the_staleness_bound() -> None:
    ok, body = readiness(request(time.monotonic() - 1.0))
    assert ok and body["status"] == "ready" and body["read_database"] == "reachable"
    assert body["index_source"] == "snapshot" and body["feed"] == {"records": 7}


def test_stale_says_why_and_that_the_database_fails() -> None:
    ok, body = readiness(request(time.monotonic() - 10.0, "OperationalError: refused"))
    assert not ok and body["status"] == "stale"
    assert "10." in body["reason"] and "OperationalError: refused" in body["reason"]
    assert body["read_database"] == "unreachable"


def test_not_ready_before_the_index_is_loaded() -> None:
    ok, body = readiness(SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace())))
    assert not ok and body["status"] == "starting"
    assert not readiness(request(time.monotonic(), started=False))[0]
