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
    .venv/bin/python bench/ingest_into.py --into 13000000    # a month into a large registry

``--into N`` times a monthly batch (1.2M records) into an empty registry and into one already
holding ``N`` records of earlier years (built here on the bulk path, batches of at most 4M
records each at least the table's size), and prints the ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import re
import shutil
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

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
MONTH = 1_200_000  # a national month of records (DOMAIN.md section 7)
BASE_PART = 4_000_000  # records per batch when building a large registry (memory)


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


def fresh(url: str) -> Any:
    engine = make_engine(url)
    migrate(engine)
    with SqlUnitOfWork(engine) as uow:
        seed_reference_authorities(uow, load_rulepack())
        uow.commit()
    return engine


def timed_ingest(engine: Any, path: Path, n: int) -> float:
    t0 = time.perf_counter()
    report = ingest_file(SqlUnitOfWork(engine), path, pack=load_rulepack(), today=TODAY)
    seconds = time.perf_counter() - t0
    if report.accepted != n or report.rejected:
        raise SystemExit(f"bench data not all accepted: {report.rejected[:5]}")
    return seconds


def run(url: str, backend: str, path: Path, n: int) -> dict[str, object]:
    engine = fresh(url)
    seconds = timed_ingest(engine, path, n)
    engine.dispose()
    rate = n / seconds
    return {
        "bench": "ingest",
        "backend": backend,
        "records": n,
        "seconds": round(seconds, 3),
        "records_per_s": round(rate),
        "target_records_per_s": TARGET,
        "ratio_to_target": round(rate / TARGET, 3),
    }


def base_parts(into: int) -> list[int]:
    """Batch sizes that build ``into`` records on the bulk path (each batch at least as large
    as the table it lands in): halves of halves until one is at most :data:`BASE_PART`."""
    first, m = into, 0
    while first > BASE_PART:
        first, m = first // 2, m + 1
    parts = [into - sum(into >> j for j in range(1, m + 1))] if m else [into]
    parts += [into >> j for j in range(m, 0, -1)]
    return parts


def build_base(engine: Any, tmp: Path, into: int) -> float:
    """Fill ``engine`` with ``into`` records of earlier years; returns the seconds it took."""
    t0 = time.perf_counter()
    done = 0
    for i, k in enumerate(base_parts(into)):
        part = tmp / f"base{i}.parquet"
        pq.write_table(make_table(k, seed=1000 + i, year=2000 + i), part)
        timed_ingest(engine, part, k)
        part.unlink()
        done += k
        print(f"  base: {done} records", file=sys.stderr, flush=True)
    return time.perf_counter() - t0


def run_into(
    url_empty: str,
    url_large: str,
    backend: str,
    path: Path,
    n: int,
    into: int,
    tmp: Path,
    keep: Path | None = None,
) -> dict[str, object]:
    """The same batch into an empty registry and into one already holding ``into`` (on
    SQLite kept in ``keep`` once built, and copied from there on later runs)."""
    empty = fresh(url_empty)
    t_empty = timed_ingest(empty, path, n)
    empty.dispose()
    large = fresh(url_large) if keep is None or url_large.startswith("postgresql") else None
    if large is None:
        assert keep is not None
        db = Path(url_large.removeprefix("sqlite:///"))
        saved = keep / f"base-{into}.db"
        if saved.exists():
            t_base = 0.0
            shutil.copyfile(saved, db)
            large = make_engine(url_large)
        else:
            large = fresh(url_large)
            t_base = build_base(large, tmp, into)
            large.dispose()
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(db, saved)
            large = make_engine(url_large)
    else:
        t_base = build_base(large, tmp, into)
    t_large = timed_ingest(large, path, n)
    large.dispose()
    return {
        "bench": "ingest_into",
        "backend": backend,
        "records": n,
        "into": into,
        "empty_seconds": round(t_empty, 3),
        "large_seconds": round(t_large, 3),
        "ratio_large_to_empty": round(t_large / t_empty, 3),
        "target_ratio": 1.3,
        "empty_records_per_s": round(n / t_empty),
        "large_records_per_s": round(n / t_large),
        "base_build_seconds": round(t_base, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=None, help="default 1M, 1.2M with --into")
    ap.add_argument("--into", type=int, default=0, help="also into a registry of this many")
    ap.add_argument("--no-pg", action="store_true", help="SQLite only")
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    ap.add_argument(
        "--keep", type=Path, default=None, help="SQLite: keep the large registry here, reuse it"
    )
    args = ap.parse_args()
    n = args.records or (MONTH if args.into else 1_000_000)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "records.parquet"
        pq.write_table(make_table(n), path)

        def one(empty: str, large: str, backend: str) -> dict[str, object]:
            if args.into:
                keep = args.keep if backend == "sqlite" else None
                return run_into(empty, large, backend, path, n, args.into, tmp, keep)
            return run(empty, backend, path, n)

        if not args.no_sqlite:
            print(json.dumps(one(f"sqlite:///{tmp}/a.db", f"sqlite:///{tmp}/b.db", "sqlite")))
        if args.no_pg:
            return
        pg = os.environ.get("SOCIALCREDIT_BENCH_PG")
        if pg and args.into:
            raise SystemExit("--into on PostgreSQL needs the throwaway cluster (two databases)")
        if pg:
            print(json.dumps(run(pg, "postgresql", path, n)))
        elif not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
            print(json.dumps({"bench": "ingest", "backend": "postgresql", "skipped": NO_PG}))
        else:
            from _servers import postgres_server  # a sibling: the tests import this module

            with postgres_server(tmp, durable=True) as port:
                base = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
                if args.into:
                    admin = make_engine(f"{base}/postgres")
                    with admin.connect() as c:
                        c.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                            "CREATE DATABASE large"
                        )
                    admin.dispose()
                print(json.dumps(one(f"{base}/postgres", f"{base}/large", "postgresql")))


if __name__ == "__main__":
    main()
