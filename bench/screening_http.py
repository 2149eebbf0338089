"""Single screenings over HTTP: POST /v1/screenings beside a trivial endpoint, same server.

    .venv/bin/python bench/screening_http.py                  # 100,000 people, 5 rounds x 5 s
    .venv/bin/python bench/screening_http.py --individuals 20000 --rate 500 --rounds 3

Builds a throwaway SQLite registry (``socialcredit generate``), registers a relying party,
starts ``socialcredit serve`` (one uvicorn process: uvloop + httptools) on 127.0.0.1 and
loads it from separate processes with bodies cycling through real (ID, name) pairs, ~10%
of them restricted. The baseline is ``POST /v1/ping`` of the same app, same body, same
server configuration, same load. Each round measures ping and screening back to back
(alternating which goes first), so a noisy neighbour hits both; figures are medians over
rounds, latencies pooled over rounds. Prints one JSON line per figure:

- ``http_check``: **saturated closed loop** (``wrk`` from Debian, ``--connections``
  connections each sending its next request when the last answer arrives). Measures
  throughput; the ``cost_ratio`` is ping's req/s over screening's. Its p50/p99 measure
  queueing at saturation (16 requests always in flight), not the service's latency.
- ``http_check_open_loop``: **fixed offered rate** (``--rate``, default 500 req/s, one
  ticketing system's peak) from ``bench/http_load.py``: request ``i`` is due at
  ``t0 + i/rate`` whatever happened before, and its latency runs from that due time (no
  coordinated omission). p50/p99/p99.9/max for both endpoints.
- Both carry ``server_cpu_us_per_req``: the server's CPU (every thread, and the screening
  log's writer process: its inserts are part of a screening's cost) over requests answered,
  and its ratio.
- ``name_table_bytes_per_subject``: the name table's memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from http_load import percentiles

BIN = Path(sys.executable).parent
CLI = str(BIN / "socialcredit")
LOAD = str(Path(__file__).with_name("http_load.py"))
TICK = os.sysconf("SC_CLK_TCK")


def emit(figure: str, **fields: Any) -> None:
    print(json.dumps({"figure": figure, **fields}), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, all its threads, and of its live children (the
    screening log's writer process), from /proc."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(c) for c in (task / "children").read_text().split()]
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a child that has just exited
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


LUA = """
local bodies = {}
local i = 0
for line in io.lines("%s") do bodies[#bodies + 1] = line end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "%s"
request = function()
  i = i %% #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
response = function(status, headers, body)
  if status ~= 200 then io.stderr:write("status " .. status .. "\\n") end
end
"""


def run_wrk(url: str, script: Path, seconds: int, conns: int, pid: int) -> dict[str, float]:
    c0 = cpu_seconds(pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu = cpu_seconds(pid) - c0
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    n = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        assert m, text
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
        return float(m.group(1)) * scale

    non200 = out.stderr.count("status ")
    return {
        "rps": rps,
        "p50_ms": pct("50"),
        "p99_ms": pct("99"),
        "errors": non200,
        "cpu_us": cpu / max(1, n) * 1e6,
    }


def run_open(
    url: str, bodies: Path, key: str, rate: float, seconds: int, conns: int, pid: int
) -> dict[str, Any]:
    c0 = cpu_seconds(pid)
    out = subprocess.run(
        [sys.executable, LOAD, "--url", url, "--bodies", str(bodies), "--header",
         f"X-API-Key: {key}", "--rate", str(rate), "--seconds", str(seconds),
         "--connections", str(conns)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    d: dict[str, Any] = json.loads(out.stdout)
    d["cpu_us"] = (cpu_seconds(pid) - c0) / max(1, d["requests"]) * 1e6
    return d


def med(xs: list[float], nd: int = 1) -> float:
    return round(statistics.median(xs), nd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--individuals", type=int, default=100_000)
    ap.add_argument("--enterprises", type=int, default=5_000)
    ap.add_argument("--seconds", type=int, default=5, help="per run")
    ap.add_argument("--rounds", type=int, default=5, help="ping + screening runs, alternated")
    ap.add_argument("--connections", type=int, default=16, help="wrk's closed loop")
    ap.add_argument("--rate", type=float, default=500.0, help="open loop: requests a second")
    ap.add_argument("--open-connections", type=int, default=32, help="open loop's pool")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    tmp = Path(tempfile.mkdtemp(prefix="screening-http-"))
    env = dict(os.environ)
    env["SOCIALCREDIT_DATABASE_URL"] = f"sqlite:///{tmp / 'r.db'}"
    env["SOCIALCREDIT_OPERATOR_TOKEN"] = "bench"
    q = {"env": env, "check": True, "capture_output": True, "text": True}
    proc = None
    try:
        subprocess.run([CLI, "init"], **q)  # type: ignore[call-overload]
        subprocess.run(  # type: ignore[call-overload]
            [
                CLI,
                "generate",
                "--individuals",
                str(args.individuals),
                "--enterprises",
                str(args.enterprises),
                "--seed",
                "2026",
            ],
            **q,
        )
        add = subprocess.run(  # type: ignore[call-overload]
            [CLI, "party", "add", "BENCH", "--name", "bench", "--sector", "flight", "--json"], **q
        )
        key = json.loads(add.stdout)["api_key"]
        with sqlite3.connect(tmp / "r.db") as conn:
            listed = conn.execute(
                "SELECT DISTINCT s.id, s.name FROM subjects s "
                "JOIN records r ON r.subject_id = s.id WHERE s.kind = 'person'"
            ).fetchall()
            others = conn.execute(
                "SELECT id, name FROM subjects WHERE kind = 'person' ORDER BY random() LIMIT 9000"
            ).fetchall()
        rng = random.Random(2026)
        picks = rng.sample(listed, min(len(listed), 1000)) + others
        rng.shuffle(picks)
        bodies = tmp / "bodies.jsonl"
        bodies.write_text(
            "".join(
                json.dumps(
                    {
                        "subject_id": i,
                        "name": n,
                        "sector": "flight",
                        "purpose": "ticket sale",
                        "reference": f"B{k}",
                    },
                    ensure_ascii=False,
                )
                + "\n"
                for k, (i, n) in enumerate(picks)
            ),
            "utf-8",
        )
        script = tmp / "screen.lua"
        script.write_text(LUA % (bodies, key), "utf-8")
        port = free_port()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [CLI, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        startup_s = time.perf_counter() - t0
        status = httpx.get(
            f"{base}/v1/screening/status", headers={"Authorization": "Bearer bench"}
        ).json()
        first = json.loads(bodies.read_text("utf-8").splitlines()[0])
        check = httpx.post(f"{base}/v1/screenings", json=first, headers={"X-API-Key": key})
        assert check.status_code == 200, check.text
        denied = sum(
            httpx.post(
                f"{base}/v1/screenings", json=json.loads(b), headers={"X-API-Key": key}
            ).json()["decision"]
            == "deny"
            for b in bodies.read_text("utf-8").splitlines()[:300]
        )
        pid = proc.pid
        load0 = os.getloadavg()
        run_wrk(f"{base}/v1/ping", script, 2, args.connections, pid)  # warm-up
        run_wrk(f"{base}/v1/screenings", script, 2, args.connections, pid)
        closed: dict[str, list[dict[str, float]]] = {"ping": [], "screenings": []}
        opened: dict[str, list[dict[str, Any]]] = {"ping": [], "screenings": []}
        for r in range(args.rounds):
            order = ["ping", "screenings"] if r % 2 == 0 else ["screenings", "ping"]
            for ep in order:
                url = f"{base}/v1/{ep}"
                closed[ep].append(run_wrk(url, script, args.seconds, args.connections, pid))
            for ep in order:
                url = f"{base}/v1/{ep}"
                opened[ep].append(
                    run_open(url, bodies, key, args.rate, args.seconds, args.open_connections, pid)
                )
        machine = {
            "cpus": os.cpu_count(),
            "loadavg_1m_before_after": [round(load0[0], 2), round(os.getloadavg()[0], 2)],
            "note": "other jobs on the machine slow both endpoints alike: compare within a line",
        }
        server = (
            "socialcredit serve: one uvicorn process (uvloop + httptools), "
            "screening log written by its child process"
        )
        common: dict[str, Any] = {
            "seconds": args.seconds,
            "rounds": args.rounds,
            "server": server,
            "machine": machine,
        }
        cs, cp = closed["screenings"], closed["ping"]
        rps_s, rps_p = [x["rps"] for x in cs], [x["rps"] for x in cp]
        cpu_s, cpu_p = [x["cpu_us"] for x in cs], [x["cpu_us"] for x in cp]
        emit(
            "http_check",
            measures="saturated closed loop (wrk): throughput; its p99 is queueing, not latency",
            rps=round(statistics.median(rps_s)),
            p50_ms=med([x["p50_ms"] for x in cs], 2),
            p99_ms=med([x["p99_ms"] for x in cs], 2),
            errors=sum(int(x["errors"]) for x in cs),
            trivial_rps=round(statistics.median(rps_p)),
            trivial_p50_ms=med([x["p50_ms"] for x in cp], 2),
            trivial_p99_ms=med([x["p99_ms"] for x in cp], 2),
            cost_ratio=round(statistics.median(rps_p) / statistics.median(rps_s), 2),
            cost_ratio_by_round=[round(p / s, 2) for p, s in zip(rps_p, rps_s, strict=True)],
            server_cpu_us_per_req=med(cpu_s, 0),
            trivial_server_cpu_us_per_req=med(cpu_p, 0),
            cpu_ratio=round(statistics.median(cpu_s) / statistics.median(cpu_p), 2),
            target_ratio_max=1.5,
            connections=args.connections,
            client="wrk -t1 (separate process), loopback",
            **common,
            denied_in_first_300=denied,
            subjects=status["names"],
            restricted=status["restricted_subjects"],
            index_build_s=status["build_seconds"],
            server_startup_s=round(startup_s, 2),
        )
        os_, op = opened["screenings"], opened["ping"]

        def pooled(runs: list[dict[str, Any]]) -> dict[str, float]:
            lat = [x / 1e3 for d in runs for x in d["_latencies_ms"]]
            return percentiles(lat)

        ls, lp = pooled(os_), pooled(op)
        emit(
            "http_check_open_loop",
            measures="latency at a fixed offered rate, from each request's due time",
            offered_rate=args.rate,
            achieved_rate=med([d["achieved_rate"] for d in os_]),
            requests=sum(d["requests"] for d in os_),
            non_200=sum(d["non_200"] for d in os_),
            **ls,
            trivial_achieved_rate=med([d["achieved_rate"] for d in op]),
            trivial_non_200=sum(d["non_200"] for d in op),
            **{f"trivial_{k}": v for k, v in lp.items()},
            p99_ms_by_round=[
                percentiles([x / 1e3 for x in d["_latencies_ms"]])["p99_ms"] for d in os_
            ],
            trivial_p99_ms_by_round=[
                percentiles([x / 1e3 for x in d["_latencies_ms"]])["p99_ms"] for d in op
            ],
            client_send_lag_p99_ms=max(d["send_lag_p99_ms"] for d in os_ + op),
            server_cpu_us_per_req=med([d["cpu_us"] for d in os_], 0),
            trivial_server_cpu_us_per_req=med([d["cpu_us"] for d in op], 0),
            cpu_ratio=round(
                statistics.median([d["cpu_us"] for d in os_])
                / statistics.median([d["cpu_us"] for d in op]),
                2,
            ),
            target_p99_ms_max=5,
            connections=args.open_connections,
            client="bench/http_load.py (separate process, uvloop), loopback",
            **common,
        )
        emit(
            "name_table_bytes_per_subject",
            value=round(status["name_table_bytes"] / max(1, status["names"]), 2),
            subjects=status["names"],
            total_bytes=status["name_table_bytes"],
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
