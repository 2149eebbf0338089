"""Freshness: from a record (or its fulfilment) committed to the screening answer changing.

    .venv/bin/python bench/freshness.py                # 1,000 changes
    .venv/bin/python bench/freshness.py --changes 200
    .venv/bin/python bench/freshness.py --changes 100 --big-batch 100000


Starts ``socialcredit serve`` on a throwaway SQLite registry (loopback), then, from this
separate process, commits changes one at a time through the ingest service: a court listing
for a new person (the next screening must say deny) or its fulfilment (it must say allow
again). After each commit it screens the person in a tight loop until the answer changes and
records the delay. Prints one JSON line, ``freshness_p99_ms`` (target < 1000).

``--big-batch N`` then commits one batch of N listings whose last line lists a new person,
and times the commit to that person's deny (``big_batch_enforced_s``, target 5 s); then it
kills the server (SIGKILL) and times a new one from start to ``/health/ready``
(``restart_to_ready_s``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from socialcredit.domain.identity import ric_check_char
from socialcredit.registry.ingest import ingest_file
from socialcredit.runtime.registry import open_registry
from socialcredit.settings import Settings

CLI = str(Path(sys.executable).parent / "socialcredit")
GIVE_UP_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def person(i: int) -> str:
    born = dt.date(1960, 1, 1) + dt.timedelta(days=i % 15000)
    first = "110105" + born.strftime("%Y%m%d") + f"{i % 1000:03d}"
    return first + ric_check_char(first)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--big-batch", type=int, default=0, help="lines in one batch (0: none)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="freshness-"))
    url = f"sqlite:///{tmp / 'r.db'}"
    env = {**os.environ, "SOCIALCREDIT_DATABASE_URL": url, "SOCIALCREDIT_OPERATOR_TOKEN": "b"}
    # A person not registered yet fails the name check until the server has the change, and
    # polling for it would spend the party's budget of failed name checks (5 a day) within
    # a second: this bench measures freshness, not that guard.
    env["SOCIALCREDIT_NAME_CHECK_FAILURES"] = "1000000/hour"
    q: Any = {"env": env, "check": True, "capture_output": True, "text": True}
    subprocess.run([CLI, "init"], **q)
    out = subprocess.run(
        [CLI, "party", "add", "AIR", "--name", "air", "--sector", "flight", "--json"], **q
    )
    key = json.loads(out.stdout)["api_key"]
    reg = open_registry(Settings(database_url=url))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    delays: list[float] = []
    lost = 0
    big: dict[str, Any] = {}
    try:
        with httpx.Client(timeout=5) as client:
            while True:
                try:
                    if client.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            today = reg.today()
            for n in range(args.changes):
                i, paying = divmod(n, 2)
                sid, case = person(i), f"F-{i}"
                line: dict[str, Any] = {
                    "authority": "SPC-BJ-HD",
                    "case_number": case,
                    "category": "court.defaulter.refuses",
                    "subject_id": sid,
                    "subject_name": f"名{i}",
                    "decision_date": (today - dt.timedelta(days=30)).isoformat(),
                    "legal_basis": "SPC Art. 1(1)",
                }
                if paying:
                    line = {
                        "event": "fulfilled",
                        "authority": "SPC-BJ-HD",
                        "case_number": case,
                        "event_date": today.isoformat(),
                    }
                want = "allow" if paying else "deny"
                f = tmp / "change.jsonl"
                f.write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
                ingest_file(reg.uow(), f, pack=reg.pack, today=today, source=f"change {n}")
                t0 = time.perf_counter()  # the commit has returned
                body = {"subject_id": sid, "name": f"名{i}", "sector": "flight", "purpose": "b"}
                while True:
                    r = client.post(f"{base}/v1/screenings", json=body, headers={"X-API-Key": key})
                    if r.status_code == 200 and r.json()["decision"] == want:
                        delays.append(time.perf_counter() - t0)
                        break
                    if time.perf_counter() - t0 > GIVE_UP_S:
                        lost += 1
                        break
                    time.sleep(0.002)
            if args.big_batch:
                big = big_batch(reg, tmp, client, base, key, args.big_batch)
                proc.kill()  # kill -9: the restart restores the snapshot the big round wrote
                proc.wait(timeout=60)
                t0 = time.perf_counter()
                proc = subprocess.Popen(
                    [CLI, "serve", "--port", str(port)],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                while True:
                    try:
                        if client.get(f"{base}/health/ready").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.05)
                big["restart_to_ready_s"] = round(time.perf_counter() - t0, 2)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        reg.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    ms = np.array(delays or [float("nan")]) * 1000
    print(
        json.dumps(
            {
                "figure": "freshness_p99_ms",
                "value": round(float(np.percentile(ms, 99)), 1),
                "p50_ms": round(float(np.percentile(ms, 50)), 1),
                "max_ms": round(float(ms.max()), 1),
                **big,
                "changes": len(delays),
                "not_seen_within_10s": lost,
                "target_max": 1000,
                "change": "court listing, then its fulfilment, committed by ingest in another "
                "process; server polls the feed every 0.1 s (SQLite)",
            }
        ),
        flush=True,
    )


def big_person(i: int) -> str:
    """Distinct IDs for up to 15 million ``i`` (another county than ``person``'s)."""
    born = dt.date(1960, 1, 1) + dt.timedelta(days=i % 15000)
    first = "110106" + born.strftime("%Y%m%d") + f"{(i // 15000) % 1000:03d}"
    return first + ric_check_char(first)


def big_batch(
    reg: Any, tmp: Path, client: httpx.Client, base: str, key: str, n: int
) -> dict[str, Any]:
    """One batch of ``n`` listings; the time from its commit to the last one's deny."""
    today = reg.today()
    decided = (today - dt.timedelta(days=30)).isoformat()
    f = tmp / "big.jsonl"
    with f.open("w", encoding="utf-8") as out:
        for i in range(n):
            line = {
                "authority": "SPC-BJ-HD",
                "case_number": f"B-{i}",
                "category": "court.defaulter.refuses",
                "subject_id": big_person(i),
                "subject_name": f"批{i}",
                "decision_date": decided,
                "legal_basis": "SPC Art. 1(1)",
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    last = n - 1
    t_ingest = time.perf_counter()
    ingest_file(reg.uow(), f, pack=reg.pack, today=today, source=f"big batch {n}")
    t0 = time.perf_counter()  # the commit has returned
    body = {"subject_id": big_person(last), "name": f"批{last}", "sector": "flight",
            "purpose": "b"}  # fmt: skip
    seen = None
    while time.perf_counter() - t0 < 300:
        r = client.post(f"{base}/v1/screenings", json=body, headers={"X-API-Key": key})
        if r.status_code == 200 and r.json()["decision"] == "deny":
            seen = time.perf_counter() - t0
            break
        time.sleep(0.05)
    return {
        "big_batch_lines": n,
        "big_batch_ingest_s": round(t0 - t_ingest, 2),
        "big_batch_enforced_s": None if seen is None else round(seen, 2),
        "big_batch_target_s": 5,
    }


if __name__ == "__main__":
    main()
