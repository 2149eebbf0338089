"""Benchmark: synthetic population (and optionally a year of its records) per second.

Prints one JSON line. The target is 10 million subjects well under a minute.

    .venv/bin/python bench/generate.py --individuals 10000000 --enterprises 261700
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time

from socialcredit.rulepacks import load_rulepack
from socialcredit.synthetic.generate import generate_population, generate_records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--individuals", type=int, default=10_000_000)
    ap.add_argument("--enterprises", type=int, default=261_700)  # the national mix
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--on", type=dt.date.fromisoformat, default=dt.date(2026, 3, 31))
    ap.add_argument("--records-year", type=int, default=None, help="also generate a year")
    ap.add_argument("--scale", type=float, default=None)
    args = ap.parse_args()

    t0 = time.perf_counter()
    pop = generate_population(args.individuals, args.enterprises, args.seed, args.on)
    seconds = time.perf_counter() - t0
    n = args.individuals + args.enterprises
    out: dict[str, object] = {
        "bench": "generate",
        "subjects": n,
        "individuals": args.individuals,
        "enterprises": args.enterprises,
        "seconds": round(seconds, 3),
        "subjects_per_s": round(n / seconds) if seconds else None,
        "target_seconds_for_10m": 60,
        "projected_seconds_for_10m": round(seconds * 10_000_000 / n, 2) if n else None,
        "meets_target": bool(n and seconds * 10_000_000 / n < 60),
    }
    if args.records_year is not None:
        pack = load_rulepack()
        t1 = time.perf_counter()
        records = generate_records(pop, args.records_year, args.scale, args.seed, pack)
        rs = time.perf_counter() - t1
        out |= {
            "record_rows": records.num_rows,
            "records_seconds": round(rs, 3),
            "record_rows_per_s": round(records.num_rows / rs) if rs else None,
        }
    out |= {"cpus": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
