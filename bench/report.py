"""Transparency report over a year of national volume: prints one JSON line.

Builds a fresh SQLite registry: a synthetic population (10 million people and the national
share of enterprises at ``--scale 1``), a year of records at the DOMAIN.md section 7 rates
times ``--scale`` (14.21 million at 1), ingested as one batch; denied screenings at the
section 7 rates (17.46 million flights and 5.47 million high-speed rail a year at 1) plus as
many allowed ones; residences; then times ``build_report`` (the figure) and writing its files.

    .venv/bin/python bench/report.py --scale 0.05      # quick
    .venv/bin/python bench/report.py                   # a quarter of a national year (default)
    .venv/bin/python bench/report.py --scale 1         # a national year: needs > 24 GB today

The default is 0.25 because `make bench` runs every script with its defaults and a national
year's setup (generator and ingest, not the report) was OOM-killed at 24 GB on the 2-core,
24 GiB machines this project runs on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from socialcredit.services import scoring
from socialcredit.services.generate import generate_population, generate_records
from socialcredit.services.ingest import ingest_table
from socialcredit.services.registry import open_registry
from socialcredit.services.report import build_report
from socialcredit.services.report_render import write_report
from socialcredit.settings import Settings
from socialcredit.store.seed import seed_reference_authorities

YEAR = 2025
FLIGHTS_BLOCKED = 17_460_000
RAIL_BLOCKED = 5_470_000


def screenings(reg: object, ids: list[str], n_deny_f: int, n_deny_r: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    start = dt.datetime(YEAR, 1, 1) - dt.timedelta(hours=8)
    n = 2 * (n_deny_f + n_deny_r)
    secs = np.sort(rng.integers(0, 365 * 86400, n))
    sector = np.array(["flight"] * n_deny_f + ["rail.high_class"] * n_deny_r, dtype=object)
    sector = np.concatenate([sector, sector])
    decision = np.array(["deny"] * (n // 2) + ["allow"] * (n // 2), dtype=object)
    perm = rng.permutation(n)
    subj = rng.integers(0, len(ids), n)
    sql = (
        "INSERT INTO screening_log (screening_id, at, relying_party, subject_id, sector, purpose,"
        " reference, decision, reason_code, rulepack_version) VALUES (?,?,?,?,?,?,?,?,?,?)"
    )
    engine = reg.engine  # type: ignore[attr-defined]
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        step = 500_000
        for lo in range(0, n, step):
            rows = [
                (
                    f"b{i:012d}",
                    (start + dt.timedelta(seconds=int(secs[i]))).strftime("%Y-%m-%d %H:%M:%S"),
                    "BENCH",
                    ids[subj[i]],
                    sector[perm[i]],
                    "ticket",
                    None,
                    decision[perm[i]],
                    "court.defaulter" if decision[perm[i]] == "deny" else None,
                    "2026.1",
                )
                for i in range(lo, min(n, lo + step))
            ]
            cur.execute("BEGIN")
            cur.executemany(sql, rows)
            cur.execute("COMMIT")
    finally:
        raw.close()
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--scale",
        type=float,
        default=0.25,
        help="share of the national volume (1 needs more than 24 GB of memory today)",
    )
    ap.add_argument("--individuals", type=int, default=None, help="default 10M x scale")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--dir", type=Path, default=None, help="keep the database here")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="socialcredit-report-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "registry.db"
    if db.exists():
        db.unlink()
    reg = open_registry(Settings(database_url=f"sqlite:///{db}"), migrate_schema=True)
    reg.clock = lambda: dt.datetime(YEAR + 1, 1, 15, tzinfo=dt.UTC)
    with reg.uow() as uow:
        seed_reference_authorities(uow, reg.pack)
        uow.commit()
    people = args.individuals or max(20_000, int(10_000_000 * args.scale))
    firms = max(500, int(people * 25_910_000 / 990_000_000))
    t0 = time.perf_counter()
    pop = generate_population(people, firms, args.seed, dt.date(YEAR, 12, 31))
    records = generate_records(pop, YEAR, args.scale, args.seed, reg.pack)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    rep = ingest_table(
        reg.uow(), records, source="bench year", pack=reg.pack, today=dt.date(YEAR + 1, 1, 15)
    )
    t_ingest = time.perf_counter() - t0
    ids = pop.subjects.column("subject_id").to_pylist()
    t0 = time.perf_counter()
    n_scr = screenings(
        reg, ids, int(FLIGHTS_BLOCKED * args.scale), int(RAIL_BLOCKED * args.scale), args.seed
    )
    scoring.populate_scoring(
        reg, pop.subjects, year=YEAR, seed=args.seed, today=dt.date(YEAR + 1, 1, 15)
    )
    t_other = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = build_report(reg, YEAR)
    t_report = time.perf_counter() - t0
    t0 = time.perf_counter()
    files = write_report(report, work / "out")
    t_write = time.perf_counter() - t0
    tot = report["totals"]
    print(
        json.dumps(
            {
                "bench": "report",
                "scale": args.scale,
                "year": YEAR,
                "subjects": people + firms,
                "records_accepted": rep.accepted,
                "record_lines": records.num_rows,
                "screenings": n_scr,
                "report_seconds": round(t_report, 2),
                "write_seconds": round(t_write, 2),
                "files": len(files),
                "target": "minutes, not hours, at scale 1",
                "setup_seconds": {
                    "generate": round(t_gen, 1),
                    "ingest": round(t_ingest, 1),
                    "screenings_and_scoring": round(t_other, 1),
                },
                "figures": {
                    "flights_blocked": tot["blocked_purchases"]["flight"],
                    "rail_blocked": tot["blocked_purchases"]["rail (all)"],
                    "records_collected": tot["records_collected"],
                    "subjects_newly_listed": tot["listings"]["subjects_newly_listed"],
                    "subjects_removed": tot["listings"]["subjects_removed"],
                    "subjects_who_paid": tot["paid_after_listing"]["subjects_who_paid"],
                },
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
