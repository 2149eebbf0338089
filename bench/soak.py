"""Soak: a few minutes of mixed load on one loopback server, watching errors, p99 and memory.

    .venv/bin/python bench/soak.py                 # 3 minutes
    .venv/bin/python bench/soak.py --seconds 60    # a shorter run on a busy machine

Starts ``socialcredit serve`` on a throwaway SQLite registry (loopback only) holding a few
thousand listings and a published report, then for ``--seconds`` runs, at once:

- single screenings from ``--clients`` threads, each paced to ``--rate`` / clients a second;
- a 1,000-row NDJSON batch every 10 s (each row checked for an error entry);
- the public report (``GET /v1/reports/{year}``) every 5 s;
- one ingest of ``--ingest-lines`` records half way through (in this process, as an
  authority's upload would be), after which the new listing must be enforced.

Every 2 s it samples the server's RSS (the server and its log-writer child). Prints one JSON
line: errors by kind, single-screening p50/p99 per 10 s window, RSS over time, and the
batch, report and ingest timings. Bounded: everything stops at ``--seconds`` (plus the time
to drain in-flight requests).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from socialcredit.domain.identity import ric_check_char
from socialcredit.registry.ingest import ingest_file
from socialcredit.runtime.registry import open_registry
from socialcredit.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from _servers import free_port  # noqa: E402

CLI = str(Path(sys.executable).parent / "socialcredit")


def person(i: int, county: str = "110105") -> str:
    born = dt.date(1960, 1, 1) + dt.timedelta(days=i % 15000)
    first = county + born.strftime("%Y%m%d") + f"{(i // 15000) % 1000:03d}"
    return first + ric_check_char(first)


def records(path: Path, start: int, n: int, county: str, today: dt.date) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(start, start + n):
            row = {
                "authority": "SPC-BJ-HD",
                "case_number": f"S-{county}-{i}",
                "category": "court.defaulter.refuses",
                "subject_id": person(i, county),
                "subject_name": f"名{i}",
                "decision_date": (today - dt.timedelta(days=30)).isoformat(),
                "legal_basis": "SPC Art. 1(1)",
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def rss_mb(pid: int) -> float:
    """The process's RSS plus its children's (the log writer), in MB."""
    total = 0
    pids = [pid]
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(k) for k in kids]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--rate", type=float, default=200.0, help="single screenings a second")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--listed", type=int, default=5000)
    ap.add_argument("--ingest-lines", type=int, default=5000)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    url = f"sqlite:///{tmp / 'r.db'}"
    env = {**os.environ, "SOCIALCREDIT_DATABASE_URL": url, "SOCIALCREDIT_OPERATOR_TOKEN": "s"}
    # A person not registered yet fails the name check until the server has the change, and
    # polling for it would spend the party's budget of failed name checks (5 a day) within
    # a second: this bench measures freshness, not that guard.
    env["SOCIALCREDIT_NAME_CHECK_FAILURES"] = "1000000/hour"
    q: Any = {"env": env, "check": True, "capture_output": True, "text": True}
    subprocess.run([CLI, "init"], **q)
    key = json.loads(
        subprocess.run(
            [CLI, "party", "add", "AIR", "--name", "air", "--sector", "flight", "--json"], **q
        ).stdout
    )["api_key"]
    reg = open_registry(Settings(database_url=url))
    today = reg.today()
    records(tmp / "base.jsonl", 0, args.listed, "110105", today)
    ingest_file(reg.uow(), tmp / "base.jsonl", pack=reg.pack, today=today, source="base")
    year = today.year
    subprocess.run([CLI, "report", "--year", str(year), "--publish", "--json"], **q)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    errors: Counter[str] = Counter()
    lat: list[tuple[float, float]] = []  # (seconds since start, latency ms)
    rss: list[tuple[float, float]] = []
    batches: list[float] = []
    reports: list[float] = []
    ingest: dict[str, Any] = {}
    lock = threading.Lock()
    try:
        with httpx.Client(timeout=10) as c:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if c.get(f"{base}/health/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        t_start = time.monotonic()
        stop = time.monotonic() + args.seconds
        headers = {"X-API-Key": key}

        def screener(k: int) -> None:
            interval = args.clients / args.rate
            nxt = time.monotonic()
            i = k
            with httpx.Client(timeout=10) as c:
                while (now := time.monotonic()) < stop:
                    if now < nxt:
                        time.sleep(nxt - now)
                    nxt += interval
                    i += args.clients
                    n = i % (2 * args.listed)  # half listed, half never seen
                    sid = person(n % args.listed, "110105" if n < args.listed else "110106")
                    body = {"subject_id": sid, "name": f"名{n % args.listed}", "sector": "flight",
                            "purpose": "soak"}  # fmt: skip
                    t0 = time.perf_counter()
                    try:
                        r = c.post(f"{base}/v1/screenings", json=body, headers=headers)
                        ms = (time.perf_counter() - t0) * 1000
                        # an unregistered ID's name never matches: 422, or 429 once the
                        # party's budget of failed name checks for it is spent
                        ok = r.status_code == 200 or (
                            n >= args.listed and r.status_code in (422, 429)
                        )
                        with lock:
                            lat.append((time.monotonic() - t_start, ms))
                            if not ok:
                                errors[f"screening {r.status_code}"] += 1
                    except httpx.HTTPError as e:
                        with lock:
                            errors[f"screening {type(e).__name__}"] += 1

        def batcher() -> None:
            rows = "".join(
                json.dumps({"subject_id": person(i), "name": f"名{i}", "sector": "flight"}) + "\n"
                for i in range(1000)
            ).encode()
            nd = {**headers, "Content-Type": "application/x-ndjson"}
            with httpx.Client(timeout=60) as c:
                while time.monotonic() < stop:
                    t0 = time.perf_counter()
                    try:
                        r = c.post(f"{base}/v1/screenings/batch", content=rows, headers=nd)
                        bad = sum('"error"' in line for line in r.text.splitlines())
                        if r.status_code != 200 or bad:
                            errors[f"batch {r.status_code} ({bad} error rows)"] += 1
                        batches.append(round(time.perf_counter() - t0, 3))
                    except httpx.HTTPError as e:
                        errors[f"batch {type(e).__name__}"] += 1
                    time.sleep(max(0.0, 10 - (time.perf_counter() - t0)))

        def reporter() -> None:
            with httpx.Client(timeout=60) as c:
                while time.monotonic() < stop:
                    t0 = time.perf_counter()
                    try:
                        r = c.get(f"{base}/v1/reports/{year}")
                        if r.status_code != 200:
                            errors[f"report {r.status_code}"] += 1
                        reports.append(round(time.perf_counter() - t0, 3))
                    except httpx.HTTPError as e:
                        errors[f"report {type(e).__name__}"] += 1
                    time.sleep(5)

        def ingester() -> None:
            time.sleep(args.seconds / 2)
            f = tmp / "more.jsonl"
            records(f, 0, args.ingest_lines, "110107", today)
            t0 = time.perf_counter()
            ingest_file(reg.uow(), f, pack=reg.pack, today=today, source="soak")
            ingest["ingest_s"] = round(time.perf_counter() - t0, 2)
            last = args.ingest_lines - 1
            body = {"subject_id": person(last, "110107"), "name": f"名{last}", "sector": "flight",
                    "purpose": "soak"}  # fmt: skip
            t1 = time.perf_counter()
            with httpx.Client(timeout=10) as c:
                while time.monotonic() < stop + 30:
                    r = c.post(f"{base}/v1/screenings", json=body, headers=headers)
                    if r.status_code == 200 and r.json()["decision"] == "deny":
                        ingest["enforced_after_commit_s"] = round(time.perf_counter() - t1, 2)
                        return
                    time.sleep(0.05)
            errors["ingest not enforced"] += 1

        threads = [threading.Thread(target=screener, args=(k,)) for k in range(args.clients)]
        threads += [threading.Thread(target=f) for f in (batcher, reporter, ingester)]
        for t in threads:
            t.start()
        while time.monotonic() < stop:
            rss.append((round(time.monotonic() - t_start, 1), rss_mb(proc.pid)))
            time.sleep(2)
        for t in threads:
            t.join(timeout=120)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        reg.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)

    windows = []
    arr = np.array(lat) if lat else np.zeros((0, 2))
    for w0 in range(0, int(args.seconds), 10):
        sel = arr[(arr[:, 0] >= w0) & (arr[:, 0] < w0 + 10), 1] if len(arr) else arr
        if len(sel):
            windows.append({"from_s": w0, "n": int(len(sel)),
                            "p50_ms": round(float(np.percentile(sel, 50)), 2),
                            "p99_ms": round(float(np.percentile(sel, 99)), 2)})  # fmt: skip
    print(
        json.dumps(
            {
                "figure": "soak",
                "seconds": args.seconds,
                "screenings": len(lat),
                "errors": dict(errors),
                "p99_ms_per_10s": windows,
                "rss_mb": rss,
                "batch_s": batches,
                "report_s": reports,
                **ingest,
                "load_avg_at_end": os.getloadavg()[0],
            },
            ensure_ascii=False,
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
