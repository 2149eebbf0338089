"""Finding 4 of issue 14: the API, fuzzed from its own OpenAPI document, never answers 5xx,
answers only status codes it documents, and every error has the one house body shape.

Schemathesis generates valid and invalid requests for every operation (bounded: a few
examples an operation and mode, so the stage stays CI-sized) against a real ``socialcredit
serve`` on loopback, once each as the operator, a relying party and a signed-in subject.
What is checked, for every answer:

- no 5xx (and schemathesis' own ``not_a_server_error``);
- the status code is one the operation documents;
- a 4xx JSON body is ``{"error", "message", "problems"}`` (never FastAPI's ``{"detail"}``).

Marked ``fuzz``: ``make test`` runs it as a stage of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from tests.e2e.conftest import DEFAULTER
from tests.e2e.test_screening_http import add_party, free_port, start_server, stop_server

pytestmark = pytest.mark.fuzz
EXAMPLES = 3  # per operation and mode: ~50 operations x 2 modes x 3 identities, ~1 min
HOUSE = {"error", "message", "problems"}


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    import os
    import subprocess

    from tests.e2e.conftest import CLI

    d = tmp_path_factory.mktemp("fuzz")
    env = dict(os.environ)
    env["SOCIALCREDIT_DATABASE_URL"] = f"sqlite:///{d / 'registry.db'}"
    env["SOCIALCREDIT_OPERATOR_TOKEN"] = "fuzz-operator-token"
    subprocess.run([CLI, "init"], env=env, check=True, capture_output=True)
    return env


@pytest.fixture(scope="module")
def identities(fuzz_env: dict[str, str]) -> dict[str, dict[str, str]]:
    import subprocess

    from tests.e2e.conftest import CLI

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, *args], env=fuzz_env, capture_output=True, text=True)

    key = add_party(run, "FUZZ", "--sector", "flight")  # type: ignore[arg-type]
    token = secrets.token_urlsafe(32)
    db = fuzz_env["SOCIALCREDIT_DATABASE_URL"].removeprefix("sqlite:///")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with sqlite3.connect(db) as conn:  # a signed-in subject, as open_session leaves one
        conn.execute(
            "INSERT INTO access_sessions (token_hash, subject_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (hashlib.sha256(token.encode()).hexdigest(), DEFAULTER, now, now + dt.timedelta(1)),
        )
    return {
        "operator": {"Authorization": "Bearer fuzz-operator-token"},
        "party": {"X-API-Key": key},
        "subject": {"Authorization": f"Bearer {token}"},
    }


@pytest.fixture(scope="module")
def base(fuzz_env: dict[str, str], identities: dict[str, Any]) -> Iterator[str]:
    port = free_port()
    proc = start_server(fuzz_env, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)


def _documented(op: Any) -> set[str]:
    return {str(k) for k in op.definition.raw.get("responses", {})}


def _header(resp: Any, name: str) -> str:
    for k, v in resp.headers.items():
        if k.lower() == name:
            return str(v[0] if isinstance(v, list) else v)
    return ""


def _problems(op: Any, resp: Any) -> list[str]:
    out = []
    where = f"{op.method.upper()} {op.path} -> {resp.status_code}"
    if resp.status_code >= 500:
        out.append(f"{where}: server error {resp.text[:200]}")
    documented = _documented(op)
    code = str(resp.status_code)
    if code not in documented and f"{code[0]}XX" not in documented and "default" not in documented:
        out.append(f"{where}: status not documented ({sorted(documented)})")
    if resp.status_code >= 400 and _header(resp, "content-type").startswith("application/json"):
        body = resp.json()
        if not isinstance(body, dict) or set(body) != HOUSE:
            out.append(f"{where}: error body {str(body)[:200]}")
    if resp.status_code == 429 and not _header(resp, "retry-after"):
        out.append(f"{where}: 429 without Retry-After")
    return out


def _fuzz(op: Any, mode: GenerationMode, base: str, headers: dict[str, str]) -> list[str]:
    found: list[str] = []
    session = requests.Session()

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def probe(case: schemathesis.Case) -> None:
        h = dict(case.headers or {})
        for k, v in headers.items():
            h.setdefault(k, v)
        case.headers = h
        found.extend(_problems(op, case.call(base_url=base, session=session, timeout=30)))

    try:
        probe()
    except Exception as e:  # a request the generator could not build: not a finding
        if "Unsatisfiable" not in type(e).__name__:
            raise
    return found


@pytest.mark.parametrize("who", ["operator", "party", "subject"])
def test_no_5xx_every_status_documented_one_error_shape(
    base: str, identities: dict[str, dict[str, str]], who: str
) -> None:
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    found: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            found += _fuzz(op, mode, base, identities[who])
    assert not found, "\n".join(sorted(set(found))[:40])
