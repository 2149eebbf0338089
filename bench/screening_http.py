"""Single screenings over HTTP: POST /v1/screenings beside a trivial endpoint, same server.

    .venv/bin/python bench/screening_http.py                 # 100,000 people, 10 s per run
    .venv/bin/python bench/screening_http.py --individuals 20000 --seconds 5

Builds a throwaway SQLite registry (``socialcredit generate``), registers a relying party,
starts ``socialcredit serve`` (one uvicorn process) on 127.0.0.1 and loads it from a separate
process with ``wrk`` (Debian package) and a Lua script cycling through real (ID, name) pairs,
~10% of them restricted. The baseline is ``POST /v1/ping`` of the same app with the same
body, connections and duration. Prints one JSON line per figure (``http_check``, plus the
name table's memory as ``name_table_bytes_per_subject``).
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
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
CLI = str(BIN / "socialcredit")


def emit(figure: str, **fields: Any) -> None:
    print(json.dumps({"figure": figure, **fields}), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def run_wrk(url: str, script: Path, seconds: int, conns: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    )
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        assert m, text
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
        return float(m.group(1)) * scale

    non200 = out.stderr.count("status ")
    return {"rps": rps, "p50_ms": pct("50"), "p99_ms": pct("99"), "errors": non200}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--individuals", type=int, default=100_000)
    ap.add_argument("--enterprises", type=int, default=5_000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
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
        run_wrk(f"{base}/v1/ping", script, 2, args.connections)  # warm-up
        trivial = run_wrk(f"{base}/v1/ping", script, args.seconds, args.connections)
        screening = run_wrk(f"{base}/v1/screenings", script, args.seconds, args.connections)
        emit(
            "http_check",
            rps=round(screening["rps"]),
            p50_ms=screening["p50_ms"],
            p99_ms=screening["p99_ms"],
            errors=screening["errors"],
            trivial_rps=round(trivial["rps"]),
            trivial_p50_ms=trivial["p50_ms"],
            trivial_p99_ms=trivial["p99_ms"],
            cost_ratio=round(trivial["rps"] / screening["rps"], 2),
            target_ratio_max=1.5,
            target_p99_ms_max=5,
            connections=args.connections,
            seconds=args.seconds,
            client="wrk -t1 (separate process), loopback",
            server="socialcredit serve: one uvicorn process (h11, asyncio)",
            denied_in_first_300=denied,
            subjects=status["names"],
            restricted=status["restricted_subjects"],
            index_build_s=status["build_seconds"],
            server_startup_s=round(startup_s, 2),
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
