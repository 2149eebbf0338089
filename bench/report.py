"""Transparency report over a year of national volume: prints one JSON line.

Builds a fresh SQLite registry and times ``build_report`` (the figure) and writing its files:

- a synthetic population: 10 million people and the national share of enterprises at
  ``--scale 1`` (``generate_population``);
- a year of records at the DOMAIN.md section 7 rates times ``--scale`` (14.21 million lines
  at 1), generated and ingested a calendar month at a time (``generate_record_batches``, one
  ``ingest_table`` batch per month, as authorities send many batches);
- the screening log: denied screenings at the section 7 rates (17.46 million flights and
  5.47 million high-speed rail a year at 1) plus as many allowed ones, at times spread
  through the year, about subjects of the population, written a million rows per statement
  (``INSERT ... SELECT`` over ``json_each``; the log's two secondary indexes are dropped and
  rebuilt around the load, which leaves the same schema and rows);
- residences (and scoring, if a programme is in force) with ``populate_scoring``.

    .venv/bin/python bench/report.py --scale 0.02      # quick: under a minute
    .venv/bin/python bench/report.py --scale 0.1       # a tenth: about 4 minutes
    .venv/bin/python bench/report.py                   # a quarter of a national year
    .venv/bin/python bench/report.py --scale 1         # a national year
    .venv/bin/python bench/report.py --scale 0.1 --dir D            # keep the registry in D
    .venv/bin/python bench/report.py --scale 0.1 --dir D --reuse    # time the report alone
    .venv/bin/python bench/report.py --scale 1 --ingest-only        # the year's ingest alone

``--reuse`` times the report alone, in a fresh process, on the registry an earlier run kept
(``report_peak_rss_mb`` is then the report's own), and writes its JSON (``generated_at``
blanked) beside it, so two versions of the code can be compared on the same registry.

Besides the report's own timings, the JSON line has each phase's seconds and peak resident
memory (``phases``: the high-water mark, reset through /proc/self/clear_refs at the start of
each phase where Linux allows it, so a phase's figure includes memory earlier phases left
allocated) and the run's peak (``peak_rss_mb``: getrusage ``ru_maxrss`` of the process and its
children, and the high-water marks the resets replaced). ``setup_seconds`` keeps the earlier
three-way split.

Memory: nothing holds the year at once any more (the whole-year table and single batch were
OOM-killed at 24 GB at scale 1). On the 2-core, 24 GiB machines this project runs on the peak
was 0.8 GB at 0.02, 1.4 GB at 0.1 and, measured at scale 1, 7.9 GB (scoring phase).

Measured at ``--scale 1`` (2025-11-25, partly shared machine): 17.4M record lines in 12
batches, 45.86M screenings, 10.26M subjects; **report 264 s**, setup 36 min (generate 75 s,
ingest 1,230 s, screening log 366 s, scoring 483 s). The default stays 0.25 because ``make
bench`` runs every script with its defaults and that setup takes over half an hour.

The report alone (``--reuse``), same registries, 2026-12-04, machine shared (load 4.2-5.0 on
2 cores): at 0.1, 37.0 s (CPU 19.8 s) before ``records`` was scanned once into the parts'
scratch files, 11.9 s (CPU 9.2 s) after; at 0.25, 76.5 s (CPU 49.7 s) and 28.3 s (CPU
21.6 s), peak 887 and 899 MB; the JSON identical. The code of the 264 s run took CPU 47-49 s
at 0.25 on that registry.

At ``--scale 1``, 2026-12-04, quiet machine (load 1-2): 17.4M record lines in 12 batches,
45.86M screenings; ingest 740 s (months 30-76 s, growing with the registry until month 4),
screening log 273 s, scoring 493 s, **report 160 s** in the run (phase peak 5.0 GB, memory the
setup left); alone (``--reuse``) **140 s at 1,571 MB peak**. The run's peak, 9.7 GB, is the
setup's scoring phase, not the report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.registry.ingest import ingest_table
from socialcredit.reports.figures import build_report
from socialcredit.reports.render import write_report
from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.settings import Settings
from socialcredit.synthetic.generate import generate_population, generate_record_batches
from socialcredit.synthetic.scoring import populate_scoring

YEAR = 2025
FLIGHTS_BLOCKED = 17_460_000
RAIL_BLOCKED = 5_470_000
SCREENING_CHUNK = 1_000_000
# The screening log's secondary indexes: rebuilt once after the load (a sort) instead of
# maintained row by row (random inserts into a B-tree of tens of millions of entries).
REBUILT_INDEXES = ("ix_screening_log_subject_id_at", "ix_screening_log_at")


def _hwm_kb() -> int | None:
    """This process's resident high-water mark since the last reset (Linux), in kB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


_PEAK_KB = [0]  # the high-water marks seen before each reset


def _reset_hwm() -> bool:
    """Restart the high-water mark (Linux); the overall peak keeps the one it replaces."""
    _PEAK_KB[0] = max(_PEAK_KB[0], _hwm_kb() or 0)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """The run's peak resident set: getrusage ``ru_maxrss`` of this process and of its
    waited-for children, and the high-water marks the phases reset (a reset lowers what
    getrusage reports for this process to the peak since then)."""
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(self_kb, kids_kb, _PEAK_KB[0], _hwm_kb() or 0) / 1024, 1)


class Phases:
    """Seconds and peak resident memory of each setup phase, with progress on stderr."""

    def __init__(self) -> None:
        self.out: dict[str, dict[str, float | None]] = {}
        self.t0 = time.perf_counter()
        self.months: list[float] = []  # each monthly batch's ingest seconds

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        reset = _reset_hwm()
        t0 = time.perf_counter()
        yield
        hwm = _hwm_kb() if reset else None
        self.add(name, time.perf_counter() - t0, hwm)

    def add(self, name: str, seconds: float, hwm_kb: int | None) -> None:
        self.out[name] = {
            "seconds": round(seconds, 1),
            "peak_rss_mb": None if hwm_kb is None else round(hwm_kb / 1024, 1),
        }
        total = time.perf_counter() - self.t0
        print(f"[{total:7.1f}s] {name}: {self.out[name]}", file=sys.stderr, flush=True)


def records(
    reg: Registry, pop: Any, scale: float, seed: int, phases: Phases
) -> tuple[int, int, int, int]:
    """Generate and ingest the year a month at a time: (lines, accepted, rejected, batches)."""
    today = dt.date(YEAR + 1, 1, 15)
    t_gen = t_ing = 0.0
    hwm_gen = hwm_ing = 0
    lines = accepted = rejected = batches = 0
    months = generate_record_batches(pop, YEAR, scale, seed, reg.pack)
    while True:
        _reset_hwm()
        t0 = time.perf_counter()
        batch = next(months, None)
        t_gen += time.perf_counter() - t0
        hwm_gen = max(hwm_gen, _hwm_kb() or 0)
        if batch is None:
            break
        month = batch.column("event_date")[0].as_py().strftime("%Y-%m")
        _reset_hwm()
        t0 = time.perf_counter()
        rep = ingest_table(reg.uow(), batch, source=f"bench {month}", pack=reg.pack, today=today)
        took = time.perf_counter() - t0
        t_ing += took
        print(f"  {month}: {batch.num_rows} lines ingested in {took:.1f}s", file=sys.stderr)
        phases.months.append(round(took, 1))
        hwm_ing = max(hwm_ing, _hwm_kb() or 0)
        lines += batch.num_rows
        accepted += rep.accepted
        rejected += len(rep.rejected)
        batches += 1
        del batch
    phases.add("generate_records", t_gen, hwm_gen or None)
    phases.add("ingest", t_ing, hwm_ing or None)
    return lines, accepted, rejected, batches


def screenings(reg: Registry, ids: pa.Array, n_deny_f: int, n_deny_r: int, seed: int) -> int:
    """Denied and as many allowed screenings through the year, about random subjects."""
    rng = np.random.default_rng(seed)
    n = 2 * (n_deny_f + n_deny_r)
    # Seconds into the year (local time, UTC+8), sorted: the log is written in time order.
    secs = np.sort(rng.integers(0, 365 * 86400, n).astype(np.int32))
    # 0 deny flight, 1 deny rail, 2 allow flight, 3 allow rail: exact counts, random order.
    kind = np.repeat(np.arange(4, dtype=np.int8), [n_deny_f, n_deny_r, n_deny_f, n_deny_r])
    kind = rng.permutation(kind)
    start = int(dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC).timestamp()) - 8 * 3600
    digits = pa.array(["0", "1", "2", "3"])
    # One fixed-width text per row, "<at: 19 chars><kind: 1><subject id: 18>", sent as a JSON
    # array and taken apart in SQL: no Python object per row.
    sql = (
        "INSERT INTO screening_log (screening_id, at, relying_party, subject_id, sector,"
        " purpose, reference, decision, reason_code, rulepack_version)"
        " SELECT printf('b%012d', ? + key), substr(value, 1, 19), 'BENCH', substr(value, 21),"
        " CASE WHEN substr(value, 20, 1) IN ('0', '2') THEN 'flight' ELSE 'rail.high_class' END,"
        " 'ticket', NULL,"
        " CASE WHEN substr(value, 20, 1) IN ('0', '1') THEN 'deny' ELSE 'allow' END,"
        " CASE WHEN substr(value, 20, 1) IN ('0', '1') THEN 'court.defaulter' END,"
        " '2026.1' FROM json_each(?)"
    )
    raw = reg.engine.raw_connection()
    try:
        cur = raw.cursor()
        got = cur.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = 'screening_log'"
        ).fetchall()
        rebuild = [(name, ddl) for name, ddl in got if name in REBUILT_INDEXES and ddl]
        (before,) = cur.execute("SELECT count(*) FROM screening_log").fetchone()
        if before:
            rebuild = []  # only an empty log is loaded without its indexes
        cur.execute("BEGIN")
        for name, _ in rebuild:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("COMMIT")
        for lo in range(0, n, SCREENING_CHUNK):
            hi = min(n, lo + SCREENING_CHUNK)
            # "YYYY-MM-DD HH:MM:SS", as the log stores UTC times (20x faster than strftime).
            at = pa.array(start + secs[lo:hi].astype(np.int64), pa.timestamp("s")).cast(pa.string())
            who = ids.take(pa.array(rng.integers(0, len(ids), hi - lo)))
            rows = pc.binary_join_element_wise(at, digits.take(pa.array(kind[lo:hi])), who, "")
            listed = pa.ListArray.from_arrays(pa.array([0, hi - lo], pa.int32()), rows)
            doc = '["' + pc.binary_join(listed, '","')[0].as_py() + '"]'
            cur.execute("BEGIN")
            cur.execute(sql, (lo, doc))
            cur.execute("COMMIT")
        # The index sort spills to temporary files rather than growing this process.
        cur.execute("PRAGMA temp_store=FILE")
        cur.execute("BEGIN")
        for _, ddl in rebuild:
            cur.execute(ddl)
        cur.execute("COMMIT")
        cur.execute("PRAGMA temp_store=MEMORY")
    finally:
        raw.close()
    return n


def report_only(db: Path, work: Path, scale: float) -> None:
    """Time the report alone on a registry an earlier run built (``--dir``, ``--reuse``)."""
    if not db.exists():
        raise SystemExit(f"no registry at {db}: run once with --dir first")
    reg = open_registry(Settings(database_url=f"sqlite:///{db}"))
    reg.clock = lambda: dt.datetime(YEAR + 1, 1, 15, tzinfo=dt.UTC)
    phases = Phases()
    with phases("report"):
        t0 = time.perf_counter()
        report = build_report(reg, YEAR)
        t_report = time.perf_counter() - t0
    report["generated_at"] = None  # the rest is the figure: compare it across runs
    (work / "report.json").write_text(json.dumps(report, sort_keys=True, indent=1), "utf-8")
    out = {
        "bench": "report",
        "scale": scale,
        "reused": str(db),
        "report_seconds": round(t_report, 2),
        "report_peak_rss_mb": phases.out["report"]["peak_rss_mb"],
        "peak_rss_mb": peak_rss_mb(),
        "json": str(work / "report.json"),
    }
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--scale", type=float, default=0.25, help="share of the national volume (1: a year)"
    )
    ap.add_argument("--individuals", type=int, default=None, help="default 10M x scale")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--dir", type=Path, default=None, help="keep the database here")
    ap.add_argument(
        "--reuse", action="store_true", help="time the report only, on --dir's registry"
    )
    ap.add_argument(
        "--ingest-only",
        action="store_true",
        help="stop after the year's ingest and print its figures (issue 15: 300 s at scale 1)",
    )
    args = ap.parse_args()
    if args.reuse and args.dir is None:
        raise SystemExit("--reuse needs --dir (a registry an earlier run kept)")
    work = args.dir or Path(tempfile.mkdtemp(prefix="socialcredit-report-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "registry.db"
    if args.reuse:
        return report_only(db, work, args.scale)
    for stale in (db, work / "registry.db-wal", work / "registry.db-shm"):
        if stale.exists():
            stale.unlink()
    reg = open_registry(Settings(database_url=f"sqlite:///{db}"), migrate_schema=True)
    reg.clock = lambda: dt.datetime(YEAR + 1, 1, 15, tzinfo=dt.UTC)
    with reg.uow() as uow:
        seed_reference_authorities(uow, reg.pack)
        uow.commit()
    people = args.individuals or max(20_000, int(10_000_000 * args.scale))
    firms = max(500, int(people * 25_910_000 / 990_000_000))
    phases = Phases()
    with phases("generate_population"):
        pop = generate_population(people, firms, args.seed, dt.date(YEAR, 12, 31))
    lines, accepted, rejected, batches = records(reg, pop, args.scale, args.seed, phases)
    if args.ingest_only:
        print(
            json.dumps(
                {
                    "bench": "report_ingest",
                    "scale": args.scale,
                    "record_lines": lines,
                    "records_accepted": accepted,
                    "ingest_batches": batches,
                    "ingest_seconds": phases.out["ingest"]["seconds"],
                    "batch_seconds": phases.months,
                    "target_seconds_at_scale_1": 300,
                    "generate_seconds": phases.out["generate_population"]["seconds"],
                    "peak_rss_mb": peak_rss_mb(),
                    "machine": {"cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2)},
                }
            )
        )
        if args.dir is None:  # a registry nobody asked to keep
            reg.engine.dispose()
            shutil.rmtree(work, ignore_errors=True)
        return
    with phases("screenings"):
        n_scr = screenings(
            reg,
            pop.subjects.column("subject_id").combine_chunks(),
            int(FLIGHTS_BLOCKED * args.scale),
            int(RAIL_BLOCKED * args.scale),
            args.seed,
        )
    with phases("scoring"):
        scored = populate_scoring(
            reg, pop.subjects, year=YEAR, seed=args.seed, today=dt.date(YEAR + 1, 1, 15)
        )
    del pop  # the report reads the registry only
    with phases("report"):
        t0 = time.perf_counter()
        report = build_report(reg, YEAR)
        t_report = time.perf_counter() - t0
    with phases("write"):
        t0 = time.perf_counter()
        files = write_report(report, work / "out")
        t_write = time.perf_counter() - t0
    tot = report["totals"]
    setup = ("generate_population", "generate_records", "ingest", "screenings", "scoring")
    print(
        json.dumps(
            {
                "bench": "report",
                "scale": args.scale,
                "year": YEAR,
                "subjects": people + firms,
                "records_accepted": accepted,
                "records_rejected": rejected,
                "record_lines": lines,
                "ingest_batches": batches,
                "screenings": n_scr,
                "residences": scored.get("residences"),
                "report_seconds": round(t_report, 2),
                "write_seconds": round(t_write, 2),
                "files": len(files),
                "target": "minutes, not hours, at scale 1",
                "setup_seconds": {
                    "generate": round(sum(phases.out[k]["seconds"] or 0 for k in setup[:2]), 1),
                    "ingest": phases.out["ingest"]["seconds"],
                    "screenings_and_scoring": round(
                        sum(phases.out[k]["seconds"] or 0 for k in setup[3:]), 1
                    ),
                },
                "phases": phases.out,
                "peak_rss_mb": peak_rss_mb(),
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
