"""Scores: each programme in force, recomputed in bulk at each month end, by grade and by
county of residence, with small counts and means withheld.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import Connection

from socialcredit.reports.period import EPOCH, Period, Table
from socialcredit.runtime.registry import Registry


def _small(count: int, k: int) -> int | None:
    """``count`` as published: counts from 1 to k-1 are withheld (null), 0 and k+ shown."""
    return None if 0 < count < k else count


def scores(
    conn: Connection, p: Period, reg: Registry, notes: list[str]
) -> tuple[Table, Table, dict[str, Any]]:
    from socialcredit import scoring

    k = reg.settings.report_min_count
    withheld = False
    cfg = scoring.config(reg, conn)
    monthly = Table(
        "score_distribution",
        "Scores of eligible residents at each month end, by programme and grade",
        ["month", "programme", "eligible", "mean score", "grade", "residents"],
    )
    regional = Table(
        "score_distribution_by_region",
        "Scores at the end of the period, by county of residence and grade",
        ["programme", "region_code", "grade", "residents"],
    )
    totals: dict[str, Any] = {}
    last = EPOCH + dt.timedelta(days=p.last)
    for prog in scoring.enabled(cfg):
        got = None
        data = scoring.region_data(conn, prog, last)
        for day in scoring.month_ends(p.year, last):
            got = data.scores(day)
            if got is None:
                continue
            s = got.scores
            n = int(s.eligible.sum())
            mean = round(float(s.score[s.eligible].mean()), 1) if n >= k else None
            for grade, c in s.distribution().items():
                shown = _small(c, k)
                withheld |= shown != c or (0 < n < k)
                monthly.rows.append([day.strftime("%Y-%m"), prog.id, n, mean, grade, shown])
        if got is None:
            continue
        s = got.scores
        codes = np.array(got.region_codes)
        for code in sorted(set(got.region_codes)):
            m = s.eligible & (codes == code)
            counts = np.bincount(s.grade[m].astype(np.int64), minlength=len(s.grade_names))
            for gi, gname in enumerate(s.grade_names):
                shown = _small(int(counts[gi]), k)
                withheld |= shown != int(counts[gi])
                regional.rows.append([prog.id, code, gname, shown])
        dist = {g: _small(c, k) for g, c in s.distribution().items()}
        withheld |= dist != s.distribution()
        totals[prog.id] = {
            "region": prog.region_name,
            "eligible": int(s.eligible.sum()),
            "distribution": dist,
            "illustrative": prog.illustrative,
        }
    if withheld:
        notes.append(
            f"Score tables: counts of 1 to {k - 1} residents, and means over fewer than {k},"
            " are withheld (null) so that no one's grade can be read off a small group."
        )
    if not totals:
        totals["note"] = "no scoring programme in force"
    return monthly, regional, totals
