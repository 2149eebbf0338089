"""Transparency log: the cost of logging a bulk batch, and proofs and heads at 10 M leaves.

On SQLite, in a temporary directory, prints one JSON line with:

- ``append``: 1,000,000 payloads of ~200 bytes hashed and appended (leaf rows plus the
  subtrees they complete) in one transaction, commit included: leaves per second, and the
  time to build canonical payloads for as many record-like rows (``leaf_payloads``);
- ``ingest`` (unless ``--no-ingest``): ``bench/ingest.py``'s 1,000,000-record load in the
  same run, and the log's cost as a share of it: append seconds / ingest seconds;
- ``proofs``: a 10,000,128-leaf log (not a power of two) built the fast way (one run row,
  random leaf-hash tiles inserted by one SQL statement, then the stored subtrees computed
  from them, timed), then inclusion and consistency proofs per second for random leaves
  (every 100th checked against the root), and the time to sign a head of the whole tree
  (median of 5, commit included).

    .venv/bin/python bench/log.py                     # ~2-3 minutes on 2 cores
    .venv/bin/python bench/log.py --leaves 1000000 --no-ingest
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

from socialcredit.integrity import (
    append_leaves,
    consistency_proof,
    inclusion_proof,
    leaf_hash_at,
    leaf_payloads,
    root_at,
    sign_head,
    tree_size,
    verify_consistency,
    verify_inclusion,
)
from socialcredit.integrity.note import load_or_create_key
from socialcredit.integrity.store import store_subtrees
from socialcredit.store import make_engine, migrate

NOW = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
BUDGET = 0.10  # DESIGN.md: the log costs at most 10% of ingest throughput


def cpu() -> float:
    """CPU seconds of this process and its reaped children (ingest's staging workers): on
    a shared VM the wall clock measures the neighbours as much as the code."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def record_columns(n: int) -> dict[str, list[object]]:
    """Record-like rows of ~200 bytes of canonical JSON each."""
    rng = random.Random(7)
    return {
        "id": list(range(1, n + 1)),
        "subject_id": [f"1101081980{rng.randrange(10**8):08d}" for _ in range(n)],
        "authority": ["SPC"] * n,
        "case_number": [f"(2026)京0108执{i}号" for i in range(n)],
        "category": ["court.defaulter"] * n,
        "decided_on": [dt.date(2026, 1, 1 + i % 28) for i in range(n)],
        "legal_basis": ["最高人民法院关于公布失信被执行人名单信息的若干规定 第一条"] * n,
        "amount": ["12345.00"] * n,
    }


def bench_append(tmp: Path, n: int) -> dict[str, object]:
    cols = record_columns(n)
    t0, c0 = time.perf_counter(), cpu()
    payloads = leaf_payloads("record", cols)
    build, build_cpu = time.perf_counter() - t0, cpu() - c0
    engine = make_engine(f"sqlite:///{tmp}/append.db")
    migrate(engine)
    refs = cols["id"]
    t0, c0 = time.perf_counter(), cpu()
    with engine.begin() as conn:
        append_leaves(conn, "record", refs, payloads, at=NOW)  # type: ignore[arg-type]
    seconds, cpu_s = time.perf_counter() - t0, cpu() - c0
    engine.dispose()
    return {
        "leaves": n,
        "payload_bytes_mean": round(sum(map(len, payloads)) / n),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_s, 3),
        "leaves_per_s": round(n / seconds),
        "payload_build_seconds": round(build, 3),
        "payload_build_cpu_seconds": round(build_cpu, 3),
    }


def bench_ingest(tmp: Path, n: int) -> dict[str, object]:
    import pyarrow.parquet as pq

    from ingest import make_table, run  # a sibling script

    path = tmp / "records.parquet"
    pq.write_table(make_table(n), path)
    c0 = cpu()
    got = run(f"sqlite:///{tmp}/ingest.db", "sqlite", path, n)
    return {
        "records": n,
        "seconds": got["seconds"],
        "cpu_seconds": round(cpu() - c0, 3),
        "records_per_s": got["records_per_s"],
    }


def build_store(tmp: Path, n: int) -> tuple[object, float]:
    engine = make_engine(f"sqlite:///{tmp}/big.db")
    migrate(engine)
    at = "2026-04-01 00:00:00.000000"
    t0 = time.perf_counter()
    with engine.begin() as conn:
        # one run of n leaves, and their hashes as random tiles of 256 (n a multiple of 256)
        conn.exec_driver_sql(
            "INSERT INTO log_leaves (idx, length, kind, ref, ref_num, at) "
            "VALUES (0, ?, 'bench', '0', 0, ?)",
            (n, at),
        )
        conn.exec_driver_sql(
            "INSERT INTO log_tiles (idx, hashes) "
            "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
            "SELECT x, randomblob(8192) FROM c",
            (n // 256 - 1,),
        )
        step = 1 << 16
        for lo in range(0, n, step):
            store_subtrees(conn, lo, min(n, lo + step))
    return engine, time.perf_counter() - t0


def bench_proofs(tmp: Path, n: int, seconds: float) -> dict[str, object]:
    engine, build = build_store(tmp, n)
    rng = random.Random(11)
    out: dict[str, object] = {"leaves": n, "build_seconds": round(build, 1)}
    with engine.connect() as conn:  # type: ignore[attr-defined]
        assert tree_size(conn) == n
        root = root_at(conn, n)
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            i = rng.randrange(n)
            proof = inclusion_proof(conn, i, n)
            if done % 100 == 0:
                assert verify_inclusion(i, n, leaf_hash_at(conn, i), proof, root)
            done += 1
        out["inclusion_proofs_per_s"] = round(done / (time.perf_counter() - t0))
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            a = rng.randrange(1, n)
            proof = consistency_proof(conn, a, n)
            if done % 100 == 0:
                assert verify_consistency(a, n, root_at(conn, a), root, proof)
            done += 1
        out["consistency_proofs_per_s"] = round(done / (time.perf_counter() - t0))
    key = load_or_create_key(tmp / "log.pem", "bench.invalid/log")
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        with engine.begin() as conn:  # type: ignore[attr-defined]
            sign_head(conn, key, NOW)
        times.append(time.perf_counter() - t0)
    out["sign_head_ms"] = round(statistics.median(times) * 1000, 2)
    engine.dispose()  # type: ignore[attr-defined]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--append", type=int, default=1_000_000, help="payloads in the batch")
    ap.add_argument("--leaves", type=int, default=10_000_128, help="leaves of the proof store")
    ap.add_argument("--seconds", type=float, default=3.0, help="per proof kind")
    ap.add_argument("--no-ingest", action="store_true", help="skip the ingest comparison")
    args = ap.parse_args()
    args.leaves -= args.leaves % 256
    line: dict[str, object] = {"bench": "log", "backend": "sqlite"}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        line["append"] = app = bench_append(tmp, args.append)
        if not args.no_ingest:
            line["ingest"] = ing = bench_ingest(tmp, args.append)
            share = float(app["seconds"]) / float(ing["seconds"])  # type: ignore[arg-type]
            line["log_share_of_ingest"] = round(share, 3)
            cpu_share = float(app["cpu_seconds"]) / float(ing["cpu_seconds"])  # type: ignore[arg-type]
            line["log_cpu_share_of_ingest"] = round(cpu_share, 3)
            line["budget_share"] = BUDGET
        line["proofs"] = bench_proofs(tmp, args.leaves, args.seconds)
    print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main()
