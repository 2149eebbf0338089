"""Batch screening: the compiled index beside a Redis set and an indexed PostgreSQL table.

One JSON line per figure, all from one run on the same synthetic data:

    .venv/bin/python bench/screening.py                      # 10,000,000 restricted subjects
    .venv/bin/python bench/screening.py --restricted 1000000 # a quicker run

The index runs on one core (BLAS/OpenMP threads pinned to 1 before NumPy loads). Redis and
PostgreSQL are throwaway servers started here on 127.0.0.1 with random free ports in a temp
dir, without persistence, and stopped and deleted at the end. PostgreSQL refuses to run as
root, so its cluster belongs to ``nobody``. ``scripts/ensure-services.sh`` installs both.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

from _servers import postgres_server, redis_server  # noqa: E402
from socialcredit.rulepacks import load_rulepack  # noqa: E402
from socialcredit.screening import Schema, ScreeningIndex, load_index, save_index  # noqa: E402
from socialcredit.screening.profiles import IN_FORCE, OPEN, Profile, ProfileTable, Span  # noqa: E402

TODAY = dt.date(2026, 6, 1)
QUERIES = 1_000_000
HIT_RATE = 0.10
CHUNK = 10_000  # IDs per SMISMEMBER command / per PostgreSQL statement


def emit(figure: str, **fields: Any) -> None:
    print(json.dumps({"figure": figure, **fields}), flush=True)


def best_of(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


# --- synthetic population -----------------------------------------------------------------


def region_codes() -> npt.NDArray[np.uint64]:
    import stdnum

    path = Path(stdnum.__file__).parent / "cn" / "loc.dat"
    codes, province = set(), ""
    for line in path.read_text("utf-8").splitlines():
        if line[:2].isdigit():
            province = line[:2]
        elif line.startswith("  ") and line[2:6].isdigit() and not line[4:6] == "00":
            codes.add(province + line[2:6])  # counties only: xx xx 00 are cities/provinces
    return np.array(sorted(int(c) for c in codes), dtype=np.uint64)


def person_keys(rng: np.random.Generator, n: int, regions: npt.NDArray[np.uint64]) -> Any:
    """Random valid 17-digit person keys: county code, birth date 1950-2007, sequence."""
    first, last = dt.date(1950, 1, 1).toordinal(), dt.date(2007, 12, 31).toordinal()
    days = rng.integers(first, last + 1, n)
    # ordinal -> YYYYMMDD without a Python loop: via numpy datetime64
    d64 = (days - dt.date(1970, 1, 1).toordinal()).astype("datetime64[D]")
    y = d64.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d64.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d64 - d64.astype("datetime64[M]")).astype(np.int64) + 1
    ymd = (y * 10000 + m * 100 + day).astype(np.uint64)
    region = regions[rng.integers(0, len(regions), n)]
    seq = rng.integers(0, 1000, n).astype(np.uint64)
    return region * np.uint64(10**11) + ymd * np.uint64(1000) + seq


def profiles(schema: Schema, rng: np.random.Generator) -> tuple[list[Profile], Any]:
    """Profiles shaped like the reference pack, and the share of subjects holding each."""
    bit = schema.bit
    court = sum(
        1 << bit(s)
        for s in (
            "flight rail.high_class hotel.star_rated leisure.luxury travel.outbound_tour "
            "education.private_school_fees insurance.cash_value property.purchase "
            "vehicle.non_business finance.loan employment.senior_management "
            "employment.civil_service"
        ).split()
    )
    r = schema.reason_id
    t = TODAY.toordinal()
    out: list[tuple[Profile, float]] = [((Span(court, IN_FORCE, OPEN, r("court.defaulter")),), 55)]
    out += [((Span(court, IN_FORCE, t + d, r("court.defaulter")),), 15 / 1826) for d in range(1826)]
    flight = 1 << bit("flight")
    air = r("air.prohibited_items")
    out += [((Span(flight, IN_FORCE, t + d, air),), 6 / 365) for d in range(365)]
    out += [((Span(flight, t + d, t + d + 364, air),), 2 / 30) for d in range(1, 31)]
    rail = (1 << bit("rail.standard")) | (1 << bit("rail.high_class"))
    out += [((Span(rail, IN_FORCE, t + d, r("rail.smoking_on_emu")),), 6 / 180) for d in range(180)]
    out += [((Span(rail, IN_FORCE, OPEN, r("rail.fare_evasion")),), 3)]
    catb = flight | (1 << bit("rail.high_class"))
    out += [((Span(catb, IN_FORCE, t + d, r("tax.major_offender")),), 5 / 365) for d in range(365)]
    exit_bit = 1 << bit("border.exit")
    out += [
        (
            (
                Span(court, IN_FORCE, OPEN, r("court.defaulter")),
                Span(exit_bit, IN_FORCE, OPEN, r("court.exit_restriction")),
            ),
            4,
        )
    ]
    out += [
        (
            tuple(
                sorted(
                    (
                        Span(court, IN_FORCE, OPEN, r("court.defaulter")),
                        Span(rail, IN_FORCE, t + d, r("rail.smoking_on_emu")),
                    )
                )
            ),
            4 / 180,
        )
        for d in range(180)
    ]
    weights = np.array([w for _, w in out], dtype=np.float64)
    return [p for p, _ in out], weights / weights.sum()


# --- the three contenders --------------------------------------------------------------------


def bench_redis(port: int, keys: Any, queries: Any) -> dict[str, float]:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    t = time.perf_counter()
    members = keys.astype(np.int64)
    for i in range(0, len(members), 20 * CHUNK):
        pipe = client.pipeline(transaction=False)
        for j in range(i, min(i + 20 * CHUNK, len(members)), CHUNK):
            pipe.execute_command("SADD", "listed", *members[j : j + CHUNK].tolist())
        pipe.execute()
    load_s = time.perf_counter() - t
    q = queries.astype(np.int64)
    hits = 0

    def probe() -> None:
        nonlocal hits
        pipe = client.pipeline(transaction=False)
        for j in range(0, len(q), CHUNK):
            pipe.execute_command("SMISMEMBER", "listed", *q[j : j + CHUNK].tolist())
        hits = sum(sum(r) for r in pipe.execute())

    secs = best_of(probe, 3)
    client.close()
    return {"ids_per_s": len(q) / secs, "load_s": load_s, "hits": hits}


def bench_postgres(port: int, keys: Any, pids: Any, queries: Any) -> dict[str, float]:
    import psycopg

    conn = psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    conn.autocommit = True
    t = time.perf_counter()
    conn.execute("CREATE UNLOGGED TABLE listed (key bigint NOT NULL, profile integer NOT NULL)")
    with conn.cursor() as cur, cur.copy("COPY listed (key, profile) FROM STDIN") as copy:
        for i in range(0, len(keys), 1_000_000):
            k = keys[i : i + 1_000_000].astype(np.int64)
            p = pids[i : i + 1_000_000].astype(np.int64)
            buf = io.StringIO()
            np.savetxt(buf, np.column_stack([k, p]), fmt="%d", delimiter="\t")
            copy.write(buf.getvalue())
    conn.execute("ALTER TABLE listed ADD PRIMARY KEY (key)")
    conn.execute("VACUUM ANALYZE listed")
    load_s = time.perf_counter() - t
    q = queries.astype(np.int64)
    hits = {"any": 0, "join": 0}

    def by_any() -> None:
        n = 0
        with conn.cursor(binary=True) as cur:
            for j in range(0, len(q), CHUNK):
                cur.execute(
                    "SELECT key, profile FROM listed WHERE key = ANY(%s)",
                    [q[j : j + CHUNK].tolist()],
                )
                n += len(cur.fetchall())
        hits["any"] = n

    def by_join() -> None:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("CREATE TEMPORARY TABLE batch (key bigint) ON COMMIT DROP")
            with cur.copy("COPY batch (key) FROM STDIN") as copy:
                copy.write("\n".join(map(str, q.tolist())) + "\n")
            cur.execute("ANALYZE batch")
            cur.execute("SELECT l.key, l.profile FROM batch b JOIN listed l USING (key)")
            hits["join"] = len(cur.fetchall())

    any_s = best_of(by_any, 3)
    join_s = best_of(by_join, 3)
    conn.close()
    return {
        "any_ids_per_s": len(q) / any_s,
        "join_ids_per_s": len(q) / join_s,
        "load_s": load_s,
        "hits": hits["any"],
        "join_hits": hits["join"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--restricted", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=QUERIES)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--skip-servers", action="store_true", help="index figures only")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    schema = Schema.from_pack(load_rulepack())
    regions = region_codes()

    keys = np.unique(person_keys(rng, int(args.restricted * 1.01) + 1000, regions))
    keys = rng.permutation(keys)[: args.restricted]
    profs, weights = profiles(schema, rng)
    pids = rng.choice(len(profs), size=len(keys), p=weights).astype(np.int64)
    n_hit = int(args.queries * HIT_RATE)
    queries = np.concatenate(
        [rng.choice(keys, n_hit), person_keys(rng, args.queries - n_hit, regions)]
    )
    queries = rng.permutation(queries)

    table = ProfileTable.from_profiles(profs)
    index = ScreeningIndex.from_arrays(schema, keys, pids, table)
    flight = schema.bit("flight")
    first = index.check_batch(queries, flight, TODAY)  # computes today's profile table
    secs = best_of(lambda: index.check_batch(queries, flight, TODAY), 7)
    index_rate = len(queries) / secs
    listed = int(np.isin(queries, keys).sum())

    sample = queries[:100_000].tolist()
    one = best_of(lambda: [index.check(k, flight, TODAY) for k in sample], 3) / len(sample)

    with tempfile.TemporaryDirectory() as snap_dir:
        loaded = load_index(save_index(index, Path(snap_dir) / "index"))
        same = bool((loaded.check_batch(queries, flight, TODAY).deny == first.deny).all())
        load_s = loaded.build_seconds

    common = {"restricted": len(keys), "profiles": len(profs), "sector": "flight"}
    emit("index_build_s", value=round(index.build_seconds, 3), **common)
    emit(
        "index_bytes_per_subject",
        value=round(index.nbytes / len(keys), 2),
        target_max=24,
        total_bytes=index.nbytes,
        **common,
    )
    emit("index_snapshot_load_s", value=round(load_s, 4), mmap=True, same_answers=same, **common)
    emit("index_single_check_us", value=round(one * 1e6, 2), path="ScreeningIndex.check", **common)

    line: dict[str, Any] = {
        "ids": len(queries),
        "listed_in_batch": listed,
        "denied_in_batch": int(first.deny.sum()),
        "index": round(index_rate),
        "single_core": True,
        "target_min": 10_000_000,
        "target_ratio_min": 10,
        **common,
    }
    if not args.skip_servers:
        with tempfile.TemporaryDirectory(prefix="screening-bench-") as tmp:
            with redis_server(Path(tmp)) as port:
                r = bench_redis(port, keys, queries)
            with postgres_server(Path(tmp)) as port:
                p = bench_postgres(port, keys, pids, queries)
        pg_best = max(p["any_ids_per_s"], p["join_ids_per_s"])
        line |= {
            "redis_smismember": round(r["ids_per_s"]),
            "postgres_any": round(p["any_ids_per_s"]),
            "postgres_temp_table_join": round(p["join_ids_per_s"]),
            "ratio_vs_redis": round(index_rate / r["ids_per_s"], 1),
            "ratio_vs_postgres": round(index_rate / pg_best, 1),
            # = ANY collapses repeated IDs in a chunk; SMISMEMBER and the join count each row
            "same_hits": r["hits"] == p["join_hits"] == listed,
            "redis_load_s": round(r["load_s"], 1),
            "postgres_load_s": round(p["load_s"], 1),
        }
    emit("batch_ids_per_s", value=round(index_rate), **line)


if __name__ == "__main__":
    main()
