"""The HTTP service over a real socket: uvicorn started by the CLI on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import CLEAN, CLI, DEFAULTER, Run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(registry_env: dict[str, str], run: Run, records_file: Path) -> Iterator[str]:
    run("ingest", str(records_file))
    port = free_port()
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port)],
        env=registry_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


AUTH = {"Authorization": "Bearer test-operator-token"}


def test_health_and_docs_served_locally(server: str) -> None:
    h = httpx.get(f"{server}/health").json()
    assert h["status"] == "ok" and h["rulepack_version"]
    docs = httpx.get(f"{server}/docs")
    assert docs.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    js = httpx.get(f"{server}/static/swagger/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert "/v1/subjects/{subject_id}" in httpx.get(f"{server}/openapi.json").json()["paths"]


def test_subject_file_needs_the_operator_token(server: str) -> None:
    assert httpx.get(f"{server}/v1/subjects/{DEFAULTER}").status_code == 401
    wrong = httpx.get(f"{server}/v1/subjects/{DEFAULTER}", headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 401
    r = httpx.get(f"{server}/v1/subjects/{DEFAULTER}", params={"on": "2026-06-01"}, headers=AUTH)
    assert r.status_code == 200
    d = r.json()
    assert d["subject"]["name"] == "王建国"
    assert any(x["sector"] == "flight" and x["status"] == "active" for x in d["restrictions"])


def test_bad_requests_are_clear_errors(server: str) -> None:
    r = httpx.get(f"{server}/v1/subjects/12345", headers=AUTH)
    assert r.status_code == 422
    body = r.json()
    assert body["problems"][0]["field"] == "subject_id" and "18 characters" in body["message"]
    r = httpx.get(f"{server}/v1/subjects/{DEFAULTER}", params={"on": "2026-13-01"}, headers=AUTH)
    assert r.status_code == 422 and r.json()["problems"][0]["field"].endswith("on")
    r = httpx.get(f"{server}/v1/subjects/{CLEAN}", headers=AUTH)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
