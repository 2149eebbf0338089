"""The screening log's writer (LogWriter) in-process: one block of N rows, its rows/s.

    .venv/bin/python bench/screening_log_writer.py                 # 300,000 rows, 3 blocks before
    .venv/bin/python bench/screening_log_writer.py 300000 --pre 0  # into an empty log
    .venv/bin/python bench/screening_log_writer.py 300000 postgresql://... [--prof]

``--pre K`` writes K blocks of N rows first (a log that already holds rows: its indexes
outgrow the page cache); ``--prof`` prints the cProfile of the measured flush. Prints one
JSON line: ``rows_per_s`` of the measured block's flush (its transparency leaf included).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import tempfile
import time
import uuid

import pyarrow as pa

from socialcredit.screening.logchild import writer_engine
from socialcredit.screening.runtime import LogBlock, LogWriter
from socialcredit.store import make_engine, migrate


def block(n: int, k: int) -> LogBlock:
    return LogBlock(
        n,
        {
            "screening_id": pa.array([str(uuid.uuid4()) for _ in range(n)]),
            "at": time.time(),
            "relying_party": "AIR",
            "subject_id": pa.array([f"1101081980{(i * 7919) % 50000:08d}" for i in range(n)]),
            "sector": "flight",
            "purpose": "ticket sale",
            "reference": pa.array([f"T-{k}-{i}" for i in range(n)]),
            "decision": "allow",
            "reason_code": None,
            "rulepack_version": "2026.1",
        },
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", type=int, nargs="?", default=300_000, help="rows in the block")
    ap.add_argument("url", nargs="?", default=None, help="a database URL (default: SQLite)")
    ap.add_argument("--pre", type=int, default=3, help="blocks written before the measured one")
    ap.add_argument("--prof", action="store_true", help="print the measured flush's profile")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="sc-logwriter-")
    try:
        url = args.url or f"sqlite:///{tmp}/r.db"
        eng = make_engine(url)
        migrate(eng)
        eng.dispose()
        w = LogWriter(writer_engine(url))
        n = args.rows
        for k in range(args.pre):
            w.screening_block(block(n, 100 + k))
            w.flush()
        w.screening_block(block(n, 1))
        prof = cProfile.Profile() if args.prof else None
        t = time.perf_counter()
        if prof:
            prof.enable()
        w.flush()
        if prof:
            prof.disable()
        el = time.perf_counter() - t
        backend = url.split(":", 1)[0]
        print(json.dumps({"bench": "screening_log_writer", "backend": backend, "rows": n,
                          "pre_blocks": args.pre, "seconds": round(el, 3),
                          "rows_per_s": round(n / el)}))  # fmt: skip
        if prof:
            pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
