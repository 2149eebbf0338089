"""Recompute a whole region's scores at once, over columns, with NumPy.

The same rules as :func:`socialcredit.domain.scoring.score_subject` (read its module docstring),
laid out for the machine: residents are rows of two int32 day arrays; records are rows of a
subject index, a category code and three int32 day arrays. Work is proportional to the number
of *records* (a few per cent of residents have any), plus a handful of vector passes over the
residents for eligibility and the base grade, so a region of millions takes milliseconds.

Days are integers counted from 1970-01-01; :data:`NO_DAY` marks "never" (not fulfilled, not
withdrawn, residence unknown). One subject's incremental recompute is ``score_subject``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from socialcredit.domain.scoring import MINOR_AGE, Programme, cutoff

EPOCH = dt.date(1970, 1, 1)
NO_DAY = int(np.iinfo(np.int32).max)
_BIG = np.iinfo(np.int64).max // 4

I32 = NDArray[np.int32]
I64 = NDArray[np.int64]


def to_day(day: dt.date | None) -> int:
    return NO_DAY if day is None else (day - EPOCH).days


def from_day(n: int) -> dt.date | None:
    return None if n == NO_DAY else EPOCH + dt.timedelta(days=int(n))


@dataclass(frozen=True)
class Residents:
    """Natural persons resident in the programme's region, one row each."""

    birth_day: I32
    resident_since_day: I32  # NO_DAY when unknown: such a resident is never eligible


@dataclass(frozen=True)
class RecordColumns:
    """Record states as known on the scoring day (the caller's snapshot), one row each.

    Rows must come from accepted records, which the ingest service only takes with an
    authority, a case number and a legal basis; ``category`` indexes ``category_ids``.
    """

    subject: I64  # row in Residents
    category: I32
    decision_day: I32
    fulfilled_day: I32  # NO_DAY if not fulfilled
    ended_day: I32  # withdrawn or repaired, whichever came first; NO_DAY if neither
    category_ids: tuple[str, ...]


@dataclass(frozen=True)
class BulkScores:
    programme_id: str
    programme_version: str
    on: dt.date
    eligible: NDArray[np.bool_]
    score: I32  # 0 where not eligible
    grade: NDArray[np.int8]  # index into grade_names (best first); -1 where not eligible
    grade_names: tuple[str, ...]

    def distribution(self) -> dict[str, int]:
        counts = np.bincount(
            self.grade[self.eligible].astype(np.int64), minlength=len(self.grade_names)
        )
        return {g: int(c) for g, c in zip(self.grade_names, counts, strict=True)}


def anniversary_days(days: I64, years: I64 | int) -> I64:
    """Vectorised :func:`socialcredit.domain.scoring.anniversary` (29 Feb -> 1 Mar)."""
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    month_off = m - y.astype("datetime64[M]")
    day_off = d - m.astype("datetime64[D]")
    shifted = y + np.asarray(years, dtype=np.int64).astype("timedelta64[Y]")
    out = (shifted.astype("datetime64[M]") + month_off).astype("datetime64[D]") + day_off
    result: I64 = out.astype(np.int64)
    return result


def _rule_tables(programme: Programme, category_ids: Sequence[str]) -> dict[str, I64]:
    rules = programme.rules
    index = {r.id: i for i, r in enumerate(rules)}
    of_cat = [index[r.id] if (r := programme.rule_for(c)) else -1 for c in category_ids]
    return {
        "of_cat": np.array(of_cat, dtype=np.int64),
        "points": np.array([r.points for r in rules], dtype=np.int64),
        "years": np.array([r.counts_for.years for r in rules], dtype=np.int64),
        "days": np.array([r.counts_for.days for r in rules], dtype=np.int64),
        "every": np.array([r.every_days for r in rules], dtype=np.int64),
        "ends": np.array([r.ends_on_fulfilment for r in rules], dtype=np.int64),
        "lo": np.array([r.cap if r.cap is not None and r.points < 0 else -_BIG for r in rules]),
        "hi": np.array([r.cap if r.cap is not None and r.points > 0 else _BIG for r in rules]),
    }


def _grade_index(programme: Programme, scores: NDArray[np.int64]) -> NDArray[np.int8]:
    mins = [g.min_score for g in programme.grades if g.min_score is not None]
    ascending = np.array(sorted(mins), dtype=np.int64)
    above = np.searchsorted(ascending, scores, side="right")
    return (len(programme.grades) - 1 - above).astype(np.int8)


def _runs(sorted_keys: I64) -> I64:
    """Start index of each run of equal values in a sorted array."""
    edge = np.empty(len(sorted_keys), dtype=bool)
    edge[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=edge[1:])
    return np.flatnonzero(edge)


def score_bulk(
    programme: Programme, on: dt.date, residents: Residents, records: RecordColumns
) -> BulkScores | None:
    """Scores and grades of every resident on ``on``; None when the programme is switched off."""
    if not programme.enabled:
        return None
    on_d = to_day(on)
    el = programme.eligibility
    n = len(residents.birth_day)
    eligible = (residents.birth_day <= to_day(cutoff(on, el.min_age))) & (
        residents.resident_since_day <= to_day(cutoff(on, el.min_residence_years))
    )
    score = np.full(n, programme.base, dtype=np.int32)
    grade = np.full(n, programme.grade_index(programme.base), dtype=np.int8)

    t = _rule_tables(programme, records.category_ids)
    rule_all = t["of_cat"][records.category] if len(t["of_cat"]) else np.full(0, -1, np.int64)
    rows = np.flatnonzero((rule_all >= 0) & (records.decision_day <= on_d))
    subj = records.subject[rows]
    rows = rows[eligible[subj]]
    subj = records.subject[rows]
    rule = rule_all[rows]
    dec = records.decision_day[rows].astype(np.int64)
    # Records decided while the subject was a minor never count.
    adult = anniversary_days(residents.birth_day[subj].astype(np.int64), MINOR_AGE)
    stop = anniversary_days(dec, t["years"][rule]) + t["days"][rule]
    ended = records.ended_day[rows].astype(np.int64)
    stop = np.where(ended <= on_d, np.minimum(stop, ended), stop)
    ful = records.fulfilled_day[rows].astype(np.int64)
    stop = np.where((t["ends"][rule] == 1) & (ful <= on_d), np.minimum(stop, ful), stop)
    live = (dec >= adult) & (on_d < stop)
    subj, rule, dec = subj[live], rule[live], dec[live]

    if len(subj):
        every = t["every"][rule]
        periods = np.where(every > 0, (on_d - dec) // np.maximum(every, 1) + 1, 1)
        points = t["points"][rule] * periods
        n_rules = len(programme.rules)
        key = subj * n_rules + rule
        order = np.argsort(key, kind="stable")
        key, points = key[order], points[order]
        starts = _runs(key)
        per_rule = np.add.reduceat(points, starts)
        g_key = key[starts]
        g_rule = g_key % n_rules
        per_rule = np.clip(per_rule, t["lo"][g_rule], t["hi"][g_rule])
        g_subj = g_key // n_rules
        s_starts = _runs(g_subj)
        delta = np.add.reduceat(per_rule, s_starts)
        who = g_subj[s_starts]
        moved = programme.base + delta
        score[who] = moved
        grade[who] = _grade_index(programme, moved)

    score[~eligible] = 0
    grade[~eligible] = -1
    return BulkScores(
        programme.id,
        programme.version,
        on,
        eligible,
        score,
        grade,
        tuple(g.name for g in programme.grades),
    )
