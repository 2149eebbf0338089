"""The screening log's writer (LogWriter) in-process: one block of N rows, its rows/s.

    PYTHONPATH=$PWD/src .venv/bin/python bench/screening_log_writer.py 300000 --pre=3
    ... [postgresql://...] [--prof]

``--pre=K`` writes K blocks of N rows first (a log that already holds rows: its indexes
outgrow the page cache); ``--prof`` prints the cProfile of the measured flush.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
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
    args = sys.argv[1:]
    n = int(next((a for a in args if a.isdigit()), "300000"))
    url = next((a for a in args if "://" in a), f"sqlite:///{tempfile.mkdtemp()}/r.db")
    pre = int(next((a[6:] for a in args if a.startswith("--pre=")), "0"))
    eng = make_engine(url)
    migrate(eng)
    eng.dispose()
    w = LogWriter(writer_engine(url))
    for k in range(pre):
        w.screening_block(block(n, 100 + k))
        w.flush()
    w.screening_block(block(n, 1))
    prof = cProfile.Profile() if "--prof" in args else None
    t = time.perf_counter()
    if prof:
        prof.enable()
    w.flush()
    if prof:
        prof.disable()
    el = time.perf_counter() - t
    print(f"{n} rows in {el:.2f}s: {n / el:,.0f} rows/s (pre={pre})")
    if prof:
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
