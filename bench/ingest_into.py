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
import glob
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ingest import NO_PG, TARGET, TODAY, make_table  # a sibling: the synthetic batch writer
from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.registry.ingest import ingest_file
from socialcredit.rulepacks import load_rulepack
from socialcredit.store import SqlUnitOfWork, make_engine, migrate

MONTH = 1_200_000  # a national month of records (DOMAIN.md section 7)
BASE_PART = 4_000_000  # records per batch when building a large registry (memory)


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
