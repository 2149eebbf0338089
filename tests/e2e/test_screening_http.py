"""The screening API over a real socket: `socialcredit serve` on loopback, keys from the CLI.

Covers the relying party's view (allow / deny with a reason code and nothing more), the
403 / 422 / 429 refusals (which say nothing about whether an ID is listed), the streamed
batch, freshness (a record ingested by the CLI in another process changes the next
screening: polled with a generous deadline, never timed), and a restart under load.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import CLI, DEFAULTER, SMOKER, Run, person_id

STRANGER = person_id("110101", "19750101", "135")  # valid, not in the registry
DEADLINE_S = 30.0  # "eventually": generous, the index polls the store every 0.1 s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("server did not start")
        time.sleep(0.1)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def add_party(run: Run, code: str, *args: str) -> str:
    r = run("party", "add", code, "--name", code, *args, "--json")
    assert r.returncode == 0, r.stderr
    return str(json.loads(r.stdout)["api_key"])


@pytest.fixture
def keys(run: Run, records_file: Path) -> dict[str, str]:
    run("ingest", str(records_file))
    return {
        "air": add_party(run, "AIR", "--sector", "flight"),
        "rail": add_party(run, "RAIL", "--sector", "rail.standard", "--sector", "rail.high_class"),
        "slow": add_party(run, "SLOW", "--sector", "flight", "--rate-per-minute", "6"),
    }


@pytest.fixture
def server(registry_env: dict[str, str], keys: dict[str, str]) -> Iterator[str]:
    port = free_port()
    proc = start_server(registry_env, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)


NAMES = {DEFAULTER: "王建国", SMOKER: "李娜", STRANGER: "张三"}


def screen(base: str, key: str, sid: str, sector: str, name: str | None = None) -> httpx.Response:
    body = {
        "subject_id": sid,
        "name": NAMES[sid] if name is None else name,
        "sector": sector,
        "purpose": "ticket sale",
        "reference": "T-1",
    }
    return httpx.post(f"{base}/v1/screenings", json=body, headers={"X-API-Key": key}, timeout=10)


def eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def test_allow_and_deny_carry_a_reason_code_and_nothing_more(
    server: str, keys: dict[str, str], registry_env: dict[str, str]
) -> None:
    deny = screen(server, keys["air"], DEFAULTER, "flight")
    assert deny.status_code == 200, deny.text
    d = deny.json()
    assert d["decision"] == "deny" and d["reason_code"] == "court.defaulter"
    assert d["until"] is None and "obligation is performed" in d["until_condition"]
    assert d["screening_id"] and d["explanation"].startswith("Denied in flight")
    assert set(d) == {
        "screening_id",
        "decision",
        "sector",
        "reason_code",
        "until",
        "until_condition",
        "benefit",
        "explanation",
        "rulepack_version",
    }
    assert "182000" not in deny.text and "SPC-BJ-HD" not in deny.text  # no amount, no file
    allow = screen(server, keys["air"], SMOKER, "flight").json()
    assert allow["decision"] == "allow" and allow["reason_code"] is None
    # every screening is logged, by the background writer
    db = registry_env["SOCIALCREDIT_DATABASE_URL"].removeprefix("sqlite:///")

    def logged() -> bool:
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT screening_id, relying_party, decision, reason_code FROM screening_log"
            ).fetchall()
        return (d["screening_id"], "AIR", "deny", "court.defaulter") in rows

    assert eventually(logged)


def test_a_party_learns_nothing_about_sectors_it_does_not_serve(
    server: str, keys: dict[str, str]
) -> None:
    # DEFAULTER is denied flights and high-class rail; the railway sees only rail
    r = screen(server, keys["rail"], DEFAULTER, "rail.high_class").json()
    assert r["decision"] == "deny" and r["sector"] == "rail.high_class"
    assert "flight" not in json.dumps(r)
    # asking outside its sectors is refused the same way for a listed and an unlisted ID
    listed = screen(server, keys["rail"], DEFAULTER, "flight")
    clean = screen(server, keys["rail"], SMOKER, "flight")
    assert listed.status_code == clean.status_code == 403
    assert listed.json() == clean.json()
    assert "decision" not in listed.json()


def test_a_wrong_name_is_a_422_that_does_not_say_whether_the_id_is_listed(
    server: str, keys: dict[str, str]
) -> None:
    answers = [
        screen(server, keys["air"], sid, "flight", name="某某")
        for sid in (DEFAULTER, SMOKER, STRANGER)
    ]
    assert {a.status_code for a in answers} == {422}
    assert len({json.dumps(a.json()) for a in answers}) == 1  # identical bodies
    assert answers[0].json()["problems"][0]["field"] == "name"
    bad = screen(server, keys["air"], DEFAULTER[:-1] + "7", "flight", name="王建国")
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["field"] == "subject_id"
    missing = httpx.post(f"{server}/v1/screenings", json={}, headers={"X-API-Key": keys["air"]})
    assert missing.status_code == 422
    assert {p["field"] for p in missing.json()["problems"]} >= {"subject_id", "name", "sector"}
    assert screen(server, "sc_nope_nope", DEFAULTER, "flight").status_code == 401


def test_rate_limit_per_key(server: str, keys: dict[str, str]) -> None:
    codes = [screen(server, keys["slow"], SMOKER, "flight").status_code for _ in range(8)]
    assert codes[0] == 200 and 429 in codes
    # another key is not affected
    assert screen(server, keys["air"], SMOKER, "flight").status_code == 200


def test_batch_keeps_order_and_reports_bad_rows(server: str, keys: dict[str, str]) -> None:
    manifest = f"subject_id,name\n{DEFAULTER},王建国\n12345,x\n{SMOKER},李娜\n{SMOKER},别人\n"
    r = httpx.post(
        f"{server}/v1/screenings/batch",
        params={"sector": "flight"},
        content=manifest.encode(),
        headers={"X-API-Key": keys["air"], "Content-Type": "text/csv"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    lines = r.text.strip().splitlines()
    assert lines[0].startswith("row,subject_id,decision")
    rows = [line.split(",") for line in lines[1:]]
    assert [x[0] for x in rows] == ["1", "2", "3", "4"]
    assert rows[0][2] == "deny" and rows[2][2] == "allow"
    assert "invalid_identifier" in lines[2] and "invalid_input" in lines[4]
    nd = "\n".join(
        json.dumps({"subject_id": s, "name": NAMES[s], "sector": "flight"})
        for s in (SMOKER, DEFAULTER)
    )
    r = httpx.post(
        f"{server}/v1/screenings/batch",
        content=nd.encode(),
        headers={"X-API-Key": keys["air"], "Content-Type": "application/x-ndjson"},
    )
    got = [json.loads(x) for x in r.text.splitlines()]
    assert [g["decision"] for g in got] == ["allow", "deny"]
    forbidden = httpx.post(
        f"{server}/v1/screenings/batch",
        params={"sector": "rail.standard"},
        content=manifest.encode(),
        headers={"X-API-Key": keys["air"], "Content-Type": "text/csv"},
    )
    assert forbidden.status_code == 403


def test_a_record_ingested_by_the_cli_changes_the_next_screening(
    server: str, keys: dict[str, str], run: Run, tmp_path: Path
) -> None:
    assert screen(server, keys["air"], SMOKER, "flight").json()["decision"] == "allow"
    rec = {
        "authority": "SPC-BJ-HD",
        "case_number": "(2026)京0108执9999号",
        "category": "court.defaulter.refuses",
        "subject_id": SMOKER,
        "subject_name": "李娜",
        "decision_date": "2026-05-02",
        "legal_basis": "SPC Provisions on the List of Dishonest Judgment Defaulters, Art. 1(1)",
        "amount_owed": "1000.00",
    }
    f = tmp_path / "new.jsonl"
    f.write_text(json.dumps(rec, ensure_ascii=False) + "\n", "utf-8")
    assert run("ingest", str(f)).returncode == 0

    def denied() -> bool:
        return bool(screen(server, keys["air"], SMOKER, "flight").json()["decision"] == "deny")

    assert eventually(denied)
    paid = {**rec, "event": "fulfilled", "event_date": "2026-06-01"}
    f2 = tmp_path / "paid.jsonl"
    f2.write_text(json.dumps(paid, ensure_ascii=False) + "\n", "utf-8")
    assert run("ingest", str(f2)).returncode == 0
    assert eventually(lambda: not denied())


def test_a_server_restarted_under_load_comes_back_with_the_same_answers(
    registry_env: dict[str, str], keys: dict[str, str]
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    asks = [
        (keys["air"], DEFAULTER, "flight"),
        (keys["air"], SMOKER, "flight"),
        (keys["rail"], DEFAULTER, "rail.high_class"),
        (keys["rail"], SMOKER, "rail.standard"),
        (keys["rail"], DEFAULTER, "rail.standard"),
    ]

    def answers() -> list[Any]:
        out = []
        for key, sid, sector in asks:
            d = screen(base, key, sid, sector).json()
            out.append((d["decision"], d["reason_code"], d["until"], d["until_condition"]))
        return out

    proc = start_server(registry_env, port)
    before = answers()
    stop = threading.Event()
    seen: list[int] = []

    def load() -> None:  # bounded: at most 20,000 requests, stops when told
        with httpx.Client(timeout=5) as client:
            for i in range(20_000):
                if stop.is_set():
                    return
                key, sid, sector = asks[i % len(asks)]
                try:
                    r = client.post(
                        f"{base}/v1/screenings",
                        json={
                            "subject_id": sid,
                            "name": NAMES[sid],
                            "sector": sector,
                            "purpose": "load",
                        },
                        headers={"X-API-Key": key},
                    )
                    seen.append(r.status_code)
                except httpx.TransportError:
                    seen.append(0)
                    time.sleep(0.05)

    worker = threading.Thread(target=load)
    worker.start()
    try:
        assert eventually(lambda: len(seen) >= 50)
        stop_server(proc)
        proc = start_server(registry_env, port)
        n = len(seen)
        assert eventually(lambda: len(seen) >= n + 50)
        assert answers() == before
    finally:
        stop.set()
        worker.join(timeout=30)
        stop_server(proc)
    assert set(seen) <= {200, 0}  # only answers, or a refused connection while down
