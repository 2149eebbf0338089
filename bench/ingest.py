"""Ingestion throughput: N valid records validated and committed into a fresh database.

Generates the records here, vectorised (valid resident IDs on real region codes with correct
check characters, adults on the decision date, a few enterprises with legal representatives),
writes them to a Parquet file, then times ``ingest_file`` from reading the file to commit.
Prints one JSON line per backend: SQLite always; then PostgreSQL, at SOCIALCREDIT_BENCH_PG if
that is a URL, else in a throwaway cluster on 127.0.0.1 started here with fsync and synchronous
commits on (as durable as the SQLite run), skipped with a note when no server binaries exist
(``scripts/ensure-services.sh`` installs them; ``make bench`` runs it first).

    .venv/bin/python bench/ingest.py                    # 1,000,000 records
    .venv/bin/python bench/ingest.py --records 200000 --no-pg
    .venv/bin/python bench/ingest.py --log-cost --rounds 3   # SQLite without/with the log

``--log-cost`` loads the same file into fresh SQLite databases without and with the
transparency log (``ingest_file(log=False)``, which exists for this comparison only),
alternating, and prints each side's times and the ratios of the best runs: the rate with the
log over the rate without (DESIGN.md: at least 0.9) and the CPU seconds (staging workers
included) with over without.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import re
import resource
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialcredit.domain.identity import RIC_CHECK, RIC_WEIGHTS, USCC_ALPHABET
from socialcredit.registry.authorities import reference_authorities, seed_reference_authorities
from socialcredit.registry.ingest import ingest_file
from socialcredit.rulepacks import load_rulepack
from socialcredit.store import SqlUnitOfWork, make_engine, migrate

TARGET = 100_000
NO_PG = "no PostgreSQL server binaries: run scripts/ensure-services.sh"
TODAY = dt.date(2026, 4, 1)


def region_codes() -> np.ndarray:
    """County codes in use in every year (no historical spans), from python-stdnum's table."""
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text("utf-8")
    codes: list[int] = []
    province = ""
    for line in text.splitlines():
        if m := re.match(r"^(\d{2}) province=", line):
            province = m.group(1)
        elif m := re.match(r"^  (\d{4}) county=\"([^\"\[]*)\"$", line):
            if province and not m.group(1).endswith("00"):
                codes.append(int(province + m.group(1)))
    return np.array(sorted(set(codes)), dtype=np.int64)


def _digits_to_strings(m: np.ndarray) -> pa.Array:
    """(n, 18) uint8 ASCII matrix -> string array, without a Python loop."""
    n = m.shape[0]
    offsets = np.arange(0, 18 * (n + 1), 18, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(m.tobytes()))


def resident_ids(rng: np.random.Generator, regions: np.ndarray, born: np.ndarray) -> pa.Array:
    n = len(born)
    region = regions[rng.integers(0, len(regions), n)]
    ymd = born.astype("datetime64[D]")
    y = ymd.astype("datetime64[Y]").astype(np.int64) + 1970
    mo = ymd.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (ymd - ymd.astype("datetime64[M]")).astype(np.int64) + 1
    seq = rng.integers(0, 1000, n)
    body = region * 10**11 + (y * 10000 + mo * 100 + d) * 1000 + seq
    digits = np.zeros((n, 18), dtype=np.int64)
    for k in range(16, -1, -1):
        digits[:, k] = body % 10
        body //= 10
    check = np.frombuffer(RIC_CHECK.encode(), dtype=np.uint8)[
        (digits[:, :17] * np.array(RIC_WEIGHTS)).sum(axis=1) % 11
    ]
    m = (digits + 48).astype(np.uint8)
    m[:, 17] = check
    return _digits_to_strings(m)


def credit_codes(rng: np.random.Generator, regions: np.ndarray, n: int) -> pa.Array:
    region = regions[rng.integers(0, len(regions), n)]
    vals = np.zeros((n, 18), dtype=np.int64)
    vals[:, 0], vals[:, 1] = 9, 1  # registered by market regulation, an enterprise
    for k in range(7, 1, -1):
        vals[:, k] = region % 10
        region //= 10
    vals[:, 8:17] = rng.integers(0, 10, (n, 9))
    weights = np.array([pow(3, i, 31) for i in range(17)])
    vals[:, 17] = (31 - (vals[:, :17] * weights).sum(axis=1) % 31) % 31
    alphabet = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
    return _digits_to_strings(alphabet[vals])


def make_table(n: int, seed: int = 2026, year: int = 2026) -> pa.Table:
    """``n`` valid 'listed' lines for the reference authorities and rule pack, case numbers
    ``(year)执-0`` on (a registry's earlier years take earlier ``year``s, as courts number)."""
    rng = np.random.default_rng(seed)
    pack = load_rulepack()
    regions = region_codes()
    auths = [a for a in reference_authorities(pack) if a.categories]
    person_pairs = [
        (a.code, c)
        for a in auths
        for c in sorted(a.categories)
        if "person" in pack.categories[c].subject_kinds
    ]
    ent_pairs = [
        (a.code, c)
        for a in auths
        for c in sorted(a.categories)
        if "enterprise" in pack.categories[c].subject_kinds
    ]
    n_ent = n // 20
    n_per = n - n_ent
    start = np.datetime64("2019-01-01")
    decision = start + rng.integers(0, (np.datetime64(TODAY) - start).astype(int), n)
    # People born 20 to 80 years before the decision: adults, born after 1880.
    born = decision[:n_per] - rng.integers(20 * 366, 80 * 365, n_per).astype("timedelta64[D]")
    person_ids = resident_ids(rng, regions, born)
    ent_ids = credit_codes(rng, regions, n_ent)
    rep_born = decision[n_per:] - rng.integers(25 * 366, 70 * 365, n_ent).astype("timedelta64[D]")
    rep_ids = resident_ids(rng, regions, rep_born)
    pp = rng.integers(0, len(person_pairs), n_per)
    ep = rng.integers(0, len(ent_pairs), n_ent)
    authority = [person_pairs[i][0] for i in pp] + [ent_pairs[i][0] for i in ep]
    category = [person_pairs[i][1] for i in pp] + [ent_pairs[i][1] for i in ep]
    basis = {c.id: c.legal_basis for c in pack.categories.values()}
    names = np.array(["王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "赵丽", "黄强"])
    case = pc.binary_join_element_wise(
        pa.array([f"({year})执"] * n), pc.cast(pa.array(np.arange(n)), pa.string()), "-"
    )
    amount = pc.cast(pa.array(rng.integers(100, 10_000_000, n) / 100), pa.string())
    rep_name = pa.array([None] * n_per + ["法定代表人"] * n_ent, pa.string())
    return pa.table(
        {
            "authority": pa.array(authority),
            "case_number": case,
            "category": pa.array(category),
            "subject_id": pa.concat_arrays([person_ids, ent_ids]),
            "subject_name": pa.array(names[rng.integers(0, len(names), n)]),
            "decision_date": pc.strftime(pa.array(decision), format="%Y-%m-%d"),
            "legal_basis": pa.array([basis[c] for c in category]),
            "amount_owed": amount,
            "legal_representative_id": pa.concat_arrays([pa.nulls(n_per, pa.string()), rep_ids]),
            "legal_representative_name": rep_name,
        }
    )


def cpu() -> float:
    """CPU seconds of this process and its reaped children (the staging workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(url: str, backend: str, path: Path, n: int, *, log: bool = True) -> dict[str, object]:
    pack = load_rulepack()
    engine = make_engine(url)
    migrate(engine)
    with SqlUnitOfWork(engine) as uow:
        seed_reference_authorities(uow, pack)
        uow.commit()
    t0, c0 = time.perf_counter(), cpu()
    report = ingest_file(SqlUnitOfWork(engine), path, pack=pack, today=TODAY, log=log)
    seconds, cpu_seconds = time.perf_counter() - t0, cpu() - c0
    engine.dispose()
    if report.accepted != n or report.rejected:
        raise SystemExit(f"bench data not all accepted: {report.rejected[:5]}")
    rate = n / seconds
    return {
        "bench": "ingest",
        "backend": backend,
        "records": n,
        "log": log,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "records_per_s": round(rate),
        "target_records_per_s": TARGET,
        "ratio_to_target": round(rate / TARGET, 3),
    }


def log_cost(tmp: Path, path: Path, n: int, rounds: int) -> dict[str, object]:
    """The same load into fresh databases without and with the log, alternating (the VM's
    load drifts), each side's best: the log's cost as rate and CPU ratios (DESIGN.md: the
    log costs at most 10% of ingest throughput, i.e. with/without rate >= 0.9)."""
    runs: dict[bool, list[dict[str, object]]] = {False: [], True: []}
    for k in range(rounds):
        for log in (False, True) if k % 2 == 0 else (True, False):
            db = tmp / f"cost-{k}-{int(log)}.db"
            runs[log].append(run(f"sqlite:///{db}", "sqlite", path, n, log=log))
            db.unlink()

    def best(log: bool, key: str) -> float:
        return min(float(r[key]) for r in runs[log])  # type: ignore[arg-type]

    rate_ratio = best(False, "seconds") / best(True, "seconds")
    cpu_ratio = best(True, "cpu_seconds") / best(False, "cpu_seconds")
    return {
        "bench": "ingest_log_cost",
        "records": n,
        "rounds": rounds,
        "seconds_without": [r["seconds"] for r in runs[False]],
        "seconds_with": [r["seconds"] for r in runs[True]],
        "cpu_without": [r["cpu_seconds"] for r in runs[False]],
        "cpu_with": [r["cpu_seconds"] for r in runs[True]],
        "rate_with_over_without": round(rate_ratio, 3),
        "cpu_with_over_without": round(cpu_ratio, 3),
        "within_budget": rate_ratio >= 0.9,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--no-pg", action="store_true", help="SQLite only")
    ap.add_argument(
        "--log-cost",
        action="store_true",
        help="SQLite without and with the transparency log, alternating, and their ratio",
    )
    ap.add_argument("--rounds", type=int, default=2, help="with --log-cost: pairs of runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.parquet"
        pq.write_table(make_table(args.records), path)
        if args.log_cost:
            print(json.dumps(log_cost(Path(tmp), path, args.records, args.rounds)))
            return
        print(json.dumps(run(f"sqlite:///{tmp}/bench.db", "sqlite", path, args.records)))
        if args.no_pg:
            return
        pg = os.environ.get("SOCIALCREDIT_BENCH_PG")
        if pg:
            print(json.dumps(run(pg, "postgresql", path, args.records)))
        elif not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
            print(json.dumps({"bench": "ingest", "backend": "postgresql", "skipped": NO_PG}))
        else:
            from _servers import postgres_server  # a sibling: the tests import this module

            with postgres_server(Path(tmp), durable=True) as port:
                url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
                print(json.dumps(run(url, "postgresql", path, args.records)))


if __name__ == "__main__":
    main()
