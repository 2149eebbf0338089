"""``/metrics`` with ``serve --workers 2`` answers for the whole server: each worker keeps its
latency histogram and screening counter in files of the run's ``PROMETHEUS_MULTIPROC_DIR``
(emptied when the run starts), and whichever worker a scrape reaches sums them all.

Redis for the shared rate limits (``--workers`` above 1 refuses in-memory limits); skipped
when ``redis-server`` is not installed (``make services``)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster.harness import Service, start_redis
from tests.e2e.conftest import CLI, DEFAULTER, SMOKER, Run
from tests.e2e.test_metrics_http import AUTH, sample
from tests.e2e.test_screening_http import add_party, free_port, screen

HEALTH = ("socialcredit_http_request_duration_seconds_count", {"method": "GET", "route": "/health"})


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Service]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (run `make services`)")
    r = start_redis(tmp_path)
    yield r
    r.stop()


def _per_worker(files: list[Path]) -> dict[str, float]:
    """The /health request count in each worker's histogram file."""
    from prometheus_client.multiprocess import MultiProcessCollector

    out = {}
    for f in files:
        for m in MultiProcessCollector.merge([str(f)], accumulate=True):
            for s in m.samples:
                if s.name == HEALTH[0] and s.labels.get("route") == "/health":
                    out[f.name] = s.value
    return out


def test_two_workers_one_metrics(
    registry_env: dict[str, str], run: Run, records_file: Path, redis: Service, tmp_path: Path
) -> None:
    run("ingest", str(records_file))  # one bad line on purpose: the rest is in
    air = add_party(run, "AIR", "--sector", "flight")
    prom = tmp_path / "prom"
    prom.mkdir()
    (prom / "counter_999999.db").write_bytes(b"\0" * 16)  # an earlier run's: must go
    env = {
        **registry_env,
        "SOCIALCREDIT_RATE_LIMIT_URL": redis.url,
        "SOCIALCREDIT_RATELIMIT_STORAGE_URL": redis.url,
        "SOCIALCREDIT_SNAPSHOT_DIR": str(tmp_path / "snapshot"),
        "SOCIALCREDIT_REPORT_MIN_COUNT": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(prom),
    }
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port), "--workers", "2"], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        assert not (prom / "counter_999999.db").exists()
        # Requests on new connections until both workers have served some.
        sent = 0
        while True:
            for _ in range(20):
                assert httpx.get(f"{base}/health", timeout=5).status_code == 200
                sent += 1
            seen = _per_worker(sorted(prom.glob("histogram_*.db")))
            if len([n for n in seen.values() if n > 0]) >= 2 or sent >= 2000:
                break
        assert len([n for n in seen.values() if n > 0]) == 2, seen
        assert sum(seen.values()) == sent
        for sid in (DEFAULTER, SMOKER, DEFAULTER):
            assert screen(base, air, sid, "flight").status_code == 200
        # Every scrape, whichever worker answers it, counts every worker's requests.
        for _ in range(8):
            text = httpx.get(f"{base}/metrics", headers=AUTH, timeout=10).text
            assert sample(text, HEALTH[0], **HEALTH[1]) == sent
            total = "socialcredit_screenings_total"
            assert sample(text, total, sector="flight", decision="deny") == 2
            assert sample(text, total, sector="flight", decision="allow") == 1
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
    assert not list(prom.glob("gauge_live*")), "a stopped worker's live gauges stay"
