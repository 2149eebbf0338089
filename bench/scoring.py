"""Scoring benchmark: one regional programme recomputed for a whole population.

Prints one JSON line. The population is synthetic: ages 10-90, 95% with a known residence
start, and about 3% of residents with one to three records in the last three years (the
share of subjects with any record at the DOMAIN.md section 7 scale is lower still). Only
``score_bulk`` is timed (best of ``--repeat``), not building the columns.

    .venv/bin/python bench/scoring.py [--subjects N] [--share 0.03] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

import numpy as np

from socialcredit.rulepacks import load_scoring
from socialcredit.scoring.bulk import NO_DAY, RecordColumns, Residents, score_bulk, to_day

TARGET = 5_000_000
ON = dt.date(2025, 6, 15)
CATEGORIES = (
    "credit.contract_default",
    "court.defaulter.refuses",
    "court.defaulter.evades",
    "finance.card_arrears",
    "finance.illegal_fundraising",
    "market.counterfeit_goods",
    "utility.late_fees",
    "utility.arrears_court",
    "utility.theft",
    "rail.fare_evasion",
    "admin_penalty.general",
    "civic.blood_donation",
    "civic.volunteer",
    "rail.scalping",
    "air.prohibited_items",
)


def population(n: int, share: float, seed: int = 7) -> tuple[Residents, RecordColumns]:
    rng = np.random.default_rng(seed)
    on = to_day(ON)
    birth = (on - rng.integers(10 * 365, 90 * 365, n)).astype(np.int32)
    since = (on - rng.integers(0, 40 * 365, n)).astype(np.int32)
    since[rng.random(n) < 0.05] = NO_DAY
    with_items = np.flatnonzero(rng.random(n) < share)
    per = rng.integers(1, 4, len(with_items))
    subject = np.repeat(with_items, per).astype(np.int64)
    m = len(subject)
    decision = (on - rng.integers(0, 3 * 365, m)).astype(np.int32)
    fulfilled = np.where(rng.random(m) < 0.3, decision + rng.integers(0, 400, m), NO_DAY).astype(
        np.int32
    )
    ended = np.where(rng.random(m) < 0.05, decision + rng.integers(0, 400, m), NO_DAY)
    category = rng.integers(0, len(CATEGORIES), m).astype(np.int32)
    records = RecordColumns(
        subject, category, decision, fulfilled, ended.astype(np.int32), CATEGORIES
    )
    return Residents(birth, since), records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=10_000_000)
    ap.add_argument("--share", type=float, default=0.03, help="share of residents with records")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    programme = next(p for p in load_scoring().programmes if p.id == "rongcheng")
    residents, records = population(args.subjects, args.share)
    best = float("inf")
    out = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = score_bulk(programme, ON, residents, records)
        best = min(best, time.perf_counter() - t0)
    assert out is not None
    rate = args.subjects / best
    print(
        json.dumps(
            {
                "bench": "scoring",
                "programme": programme.id,
                "subjects": args.subjects,
                "items": len(records.subject),
                "eligible": int(out.eligible.sum()),
                "seconds": round(best, 4),
                "subjects_per_s": round(rate),
                "target_subjects_per_s": TARGET,
                "ratio_to_target": round(rate / TARGET, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
