"""The log's HTTP routes on both backends: key, head and proofs that verify; every bad
number a 422 naming the field; a witness monitoring through the routes."""

from __future__ import annotations

import base64
import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import pytest

from socialcredit.integrity import (
    Witness,
    WitnessAlarm,
    append_leaves,
    log_key,
    open_checkpoint,
    sign_head,
    verify_consistency,
    verify_inclusion,
    witness,
)
from socialcredit.runtime.registry import open_registry
from socialcredit.settings import Settings
from socialcredit.web.app import create_app

with warnings.catch_warnings():
    # starlette asks for its httpx fork; the test client works the same with httpx.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Any:
    settings = Settings(database_url=db_url, log_key_file=tmp_path / "keys" / "log.pem")
    reg = open_registry(settings, migrate_schema=True)
    with reg.engine.begin() as conn:
        append_leaves(conn, "test", list(range(700)), [b"%d" % i for i in range(700)], at=NOW)
        sign_head(conn, log_key(settings), NOW)
    with TestClient(create_app(reg)) as c:
        c.registry = reg  # type: ignore[attr-defined]
        yield c
    reg.engine.dispose()


def _b(s: str) -> bytes:
    return base64.b64decode(s)


def test_the_key_signs_the_head_and_the_proofs_verify(client: Any) -> None:
    vkey = client.get("/v1/log/key").json()["vkey"]
    head = client.get("/v1/log/head").json()
    cp = open_checkpoint(head["checkpoint"], vkey)
    assert cp.size == head["size"] == 700
    got = client.get("/v1/log/proof/inclusion", params={"leaf": 333}).json()
    assert got["size"] == 700
    assert verify_inclusion(333, 700, _b(got["leaf_hash"]), list(map(_b, got["proof"])), cp.root)
    small = client.get("/v1/log/proof/inclusion", params={"leaf": 3, "size": 5}).json()
    assert len(small["proof"]) == 3
    cons = client.get("/v1/log/proof/consistency", params={"first": 300}).json()
    with client.registry.engine.connect() as conn:
        from socialcredit.integrity import root_at

        first_root = root_at(conn, 300)
    assert verify_consistency(300, 700, first_root, cp.root, list(map(_b, cons["proof"])))


BAD: list[tuple[str, dict[str, str], str]] = [
    ("/v1/log/proof/inclusion", {"leaf": "abc"}, "leaf"),
    ("/v1/log/proof/inclusion", {"leaf": "-1"}, "leaf"),
    ("/v1/log/proof/inclusion", {"leaf": "1.5"}, "leaf"),
    ("/v1/log/proof/inclusion", {"leaf": str(2**64)}, "leaf"),
    ("/v1/log/proof/inclusion", {"leaf": "9" * 5000}, "leaf"),
    ("/v1/log/proof/inclusion", {"leaf": "700"}, "leaf"),
    ("/v1/log/proof/inclusion", {"leaf": "5", "size": "5"}, "leaf"),
    ("/v1/log/proof/inclusion", {"leaf": "1", "size": "701"}, "size"),
    ("/v1/log/proof/inclusion", {"leaf": "1", "size": str(2**63)}, "size"),
    ("/v1/log/proof/inclusion", {}, "leaf"),
    ("/v1/log/proof/consistency", {"first": "x"}, "first"),
    ("/v1/log/proof/consistency", {"first": "701"}, "first"),
    ("/v1/log/proof/consistency", {"first": "3", "second": "2"}, "first"),
    ("/v1/log/proof/consistency", {"first": "3", "second": "1e3"}, "second"),
    ("/v1/log/proof/consistency", {"first": "1", "second": str(2**70)}, "second"),
]


def test_bad_numbers_are_422s_naming_the_field(client: Any) -> None:
    for path, params, field in BAD:
        r = client.get(path, params=params)
        assert r.status_code == 422, (params, r.text)
        assert field in r.text, (params, r.text)
        assert r.json()["error"] == "invalid_input"


def test_a_witness_monitors_through_the_routes(
    client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def get(url: str, timeout: float) -> Any:
        r = client.get(url.removeprefix("http://registry"))
        assert r.status_code == 200, r.text
        return r.json()

    monkeypatch.setattr(witness, "_get", get)
    w = Witness.open(tmp_path / "witness.json")
    first = witness.monitor("http://registry", w)
    assert first["previous_size"] is None and first["size"] == 700
    reg = client.registry
    with reg.engine.begin() as conn:
        append_leaves(conn, "test", [700], [b"700"], at=NOW)
        sign_head(conn, log_key(reg.settings), NOW)
    second = witness.monitor("http://registry", w)
    assert second["previous_size"] == 700 and second["size"] == 701
    # the key file is replaced and the history re-signed: the witness refuses it
    reg.settings.log_key_file.unlink()
    with reg.engine.begin() as conn:
        sign_head(conn, log_key(reg.settings), NOW)
    with pytest.raises(WitnessAlarm, match="signed by someone else"):
        witness.monitor("http://registry", w)
