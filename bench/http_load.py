"""An open-loop HTTP/1.1 load generator: requests sent at a fixed rate, latency from the plan.

    .venv/bin/python bench/http_load.py --url http://127.0.0.1:8000/v1/ping \\
        --bodies bodies.jsonl --header "X-API-Key: sc_..." --rate 500 --seconds 10

Run by ``bench/screening_http.py`` as a separate process. Request ``i`` is *intended* to go
out at ``t0 + i / rate`` whatever happened to earlier ones; its latency is measured from that
intended instant to the last byte of the answer, so a stalled server is charged for every
request that queued behind the stall (no coordinated omission, as in wrk2). Requests go out
over a pool of keep-alive connections; when all are busy a request waits in the client's
queue, and that wait counts too. ``send_lag`` is how late requests went on the wire: the
client's own timer and scheduling, plus any wait for a free connection. The client's part is
left in the latency (the figures err on the pessimistic side).

Prints one JSON object: counts, non-200 answers, achieved rate and latency percentiles (ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit

PCTS = (50.0, 90.0, 99.0, 99.9)


def percentiles(samples: list[float], pcts: tuple[float, ...] = PCTS) -> dict[str, float]:
    """Nearest-rank percentiles of ``samples`` (seconds) as milliseconds, 3 decimals."""
    if not samples:
        return {f"p{p:g}_ms": float("nan") for p in pcts}
    s = sorted(samples)
    out = {}
    for p in pcts:
        rank = max(1, -(-len(s) * p // 100))  # ceil(n * p / 100), at least 1
        out[f"p{p:g}_ms"] = round(s[int(rank) - 1] * 1e3, 3)
    out["max_ms"] = round(s[-1] * 1e3, 3)
    return out


def requests_for(url: str, bodies: list[bytes], headers: list[str]) -> list[bytes]:
    u = urlsplit(url)
    head = f"POST {u.path or '/'} HTTP/1.1\r\nHost: {u.netloc}\r\n"
    head += "Content-Type: application/json\r\n"
    head += "".join(h.strip() + "\r\n" for h in headers)
    return [(head + f"Content-Length: {len(b)}\r\n\r\n").encode("latin-1") + b for b in bodies]


async def read_answer(reader: asyncio.StreamReader) -> int:
    """Reads one response with a Content-Length body; returns its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def run(
    url: str, reqs: list[bytes], rate: float, seconds: float, conns: int
) -> dict[str, object]:
    u = urlsplit(url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    n = int(rate * seconds)
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    latencies: list[float] = []
    lags: list[float] = []
    statuses: dict[int, int] = {}
    clock = time.perf_counter

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (item := await queue.get()) is not None:
                i, planned = item
                lags.append(clock() - planned)
                writer.write(reqs[i % len(reqs)])
                status = await read_answer(reader)
                latencies.append(clock() - planned)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(conns)]
    await asyncio.sleep(0.2)  # connections open before the clock starts
    t0 = clock() + 0.01
    for i in range(n):
        planned = t0 + i / rate
        delay = planned - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, planned))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = clock() - t0
    return {
        "requests": len(latencies),
        "non_200": sum(v for k, v in statuses.items() if k != 200),
        "offered_rate": rate,
        "achieved_rate": round(len(latencies) / elapsed, 1),
        "connections": conns,
        **percentiles(latencies),
        "send_lag_p99_ms": percentiles(lags)["p99_ms"],
        "_latencies_ms": [round(x * 1e3, 3) for x in latencies],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--bodies", required=True, help="a file of request bodies, one a line")
    ap.add_argument("--header", action="append", default=[], help="'Name: value' (repeat)")
    ap.add_argument("--rate", type=float, default=500.0, help="requests a second")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    with open(args.bodies, "rb") as f:
        bodies = [line.rstrip(b"\n") for line in f if line.strip()]
    reqs = requests_for(args.url, bodies, args.header)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency
        runner = asyncio.run
    t = time.perf_counter()
    out = runner(run(args.url, reqs, args.rate, args.seconds, args.connections))
    out["wall_s"] = round(time.perf_counter() - t, 2)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
