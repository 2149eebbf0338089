"""``/metrics`` over a real socket: operator only, screenings counted by sector and decision,
latency by route template, today's figures from the store, small counts left out.

- ``server``: ``socialcredit serve`` over the e2e registry with the records of
  ``records_file`` ingested today, one airline key, and ``SOCIALCREDIT_REPORT_MIN_COUNT=3``
  so the suppression threshold is reached in a few requests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import DEFAULTER, SMOKER, Run
from tests.e2e.test_screening_http import (
    add_party,
    free_port,
    screen,
    start_server,
    stop_server,
)

AUTH = {"Authorization": "Bearer test-operator-token"}


@pytest.fixture
def air(run: Run, records_file: Path) -> str:
    run("ingest", str(records_file))
    return add_party(run, "AIR", "--sector", "flight")


@pytest.fixture
def server(registry_env: dict[str, str], air: str) -> Iterator[str]:
    env = {**registry_env, "SOCIALCREDIT_REPORT_MIN_COUNT": "3"}
    proc = start_server(env, port := free_port())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)


def sample(text: str, name: str, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if m and m[1] == name and ",".join(sorted((m[2] or "").split(","))).strip(",") == want:
            return float(m[3])
    return None


def test_metrics_need_the_operator_token(server: str) -> None:
    r = httpx.get(f"{server}/metrics")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = httpx.get(f"{server}/metrics", headers=AUTH)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")


def test_screenings_counted_small_counts_left_out_no_personal_data(server: str, air: str) -> None:
    assert screen(server, air, DEFAULTER, "flight").json()["decision"] == "deny"
    for _ in range(3):
        r = screen(server, air, SMOKER, "flight")  # listed for rail only
        assert r.json().get("decision") == "allow", r.text
    text = httpx.get(f"{server}/metrics", headers=AUTH).text
    total = "socialcredit_screenings_total"
    assert sample(text, total, sector="flight", decision="allow") == 3
    assert sample(text, total, sector="flight", decision="deny") is None  # 1 < 3: left out
    for _ in range(2):
        screen(server, air, DEFAULTER, "flight")
    text = httpx.get(f"{server}/metrics", headers=AUTH).text
    assert sample(text, total, sector="flight", decision="deny") == 3
    # latency by route template; nothing that names a subject
    count = "socialcredit_http_request_duration_seconds_count"
    assert sample(text, count, method="POST", route="/v1/screenings") == 6
    assert DEFAULTER not in text and SMOKER not in text and "王建国" not in text
    # the store's figures: 2 records accepted today, below 3: left out (0 would be shown)
    assert sample(text, "socialcredit_listings_new_today") is None
    assert "# TYPE socialcredit_listings_new_today gauge" in text
    assert sample(text, "socialcredit_objections_open") == 0
    assert sample(text, "socialcredit_notices_failed") == 0
