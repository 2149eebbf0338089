"""A whole programme region recomputed in bulk over columns (:func:`score_bulk`), with a history
row for every resident whose score or grade moved since their last row, at any day or at each
month end of a year."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select

from socialcredit.domain.records import EventType
from socialcredit.domain.scoring import Programme
from socialcredit.errors import InvalidInput
from socialcredit.runtime.registry import Registry
from socialcredit.scoring.bulk import NO_DAY, BulkScores, RecordColumns, Residents, score_bulk
from socialcredit.scoring.programmes import EPOCH, _now, _purge, _read, _write, config, enabled
from socialcredit.store import tables as t
from socialcredit.store.codec import record_from_json
from socialcredit.store.tables_scoring import (
    residences,
    score_history,
)


@dataclass(frozen=True)
class RegionScores:
    """A programme's bulk scores with the residents they belong to."""

    subject_ids: list[str]
    region_codes: list[str]
    scores: BulkScores


def _day(d: dt.date | None) -> int:
    return NO_DAY if d is None else (d - EPOCH).days


def birth_days(ids: Sequence[str]) -> np.ndarray[Any, np.dtype[np.int32]]:
    """Birth days (since 1970) of resident ID numbers, vectorised (YYYYMMDD at 6..14)."""
    if not ids:
        return np.zeros(0, np.int32)
    raw = np.frombuffer("".join(ids).encode("ascii"), np.uint8).reshape(len(ids), 18)
    d = (raw[:, 6:14].astype(np.int64) - 48) @ (10 ** np.arange(7, -1, -1, dtype=np.int64))
    y, m, dd = d // 10000, d // 100 % 100, d % 100
    months = (y - 1970) * 12 + (m - 1)
    day = months.astype("datetime64[M]").astype("datetime64[D]") + (dd - 1)
    out: np.ndarray[Any, np.dtype[np.int32]] = day.astype(np.int64).astype(np.int32)
    return out


BATCH = 900  # bound parameters per IN (...) query, under SQLite's limit


def _prefix(p: Programme) -> Any:
    # A range, not LIKE, so the region index is used on every backend.
    hi = p.region_prefix[:-1] + chr(ord(p.region_prefix[-1]) + 1)
    return (residences.c.region_code >= p.region_prefix) & (residences.c.region_code < hi)


@dataclass
class RegionData:
    """A programme region's residents and their records, loaded once up to a last day, from
    which the bulk scores of any day up to it are computed (events after a day are ignored
    by :func:`score_bulk` itself; corrections are re-applied per day)."""

    programme: Programme
    subject_ids: list[str]
    region_codes: list[str]
    residents: Residents
    subject: I64
    category: list[str]
    decision: list[dt.date]
    listed: I64  # the original decision day (the listing) of each record
    fulfilled: I64
    ended: I64
    corrections: dict[int, list[tuple[dt.date, Any]]]  # row -> [(date, payload)] in order

    def scores(self, on: dt.date) -> RegionScores | None:
        prog = self.programme
        cats = sorted({c for rule in prog.rules for c in rule.categories})
        cat_index = {c: i for i, c in enumerate(cats)}
        category = list(self.category)
        decision = list(self.decision)
        keep = np.ones(len(category), dtype=bool)
        for row, fixes in self.corrections.items():
            known = [payload for day, payload in fixes if day <= on]
            if known:
                fixed = record_from_json(known[-1])
                if fixed.subject_id != self.subject_ids[int(self.subject[row])]:
                    keep[row] = False
                category[row], decision[row] = fixed.category, fixed.decision_date
        ci = np.array([cat_index.get(c, -1) for c in category], np.int64)
        dec = np.array([_day(d) for d in decision], np.int64)
        keep &= (ci >= 0) & (self.listed <= _day(on))
        columns = RecordColumns(
            self.subject[keep],
            ci[keep].astype(np.int32),
            dec[keep].astype(np.int32),
            self.fulfilled[keep].astype(np.int32),
            self.ended[keep].astype(np.int32),
            tuple(cats),
        )
        got = score_bulk(prog, on, self.residents, columns)
        return None if got is None else RegionScores(self.subject_ids, self.region_codes, got)


I64 = np.ndarray[Any, np.dtype[np.int64]]


def region_data(conn: Connection, programme: Programme, last: dt.date) -> RegionData:
    """Load a region's residents, their records and events up to ``last`` (see RegionData)."""
    res = conn.execute(
        select(residences).where(_prefix(programme)).order_by(residences.c.subject_id)
    ).all()
    ids = [r.subject_id for r in res]
    index = {s: i for i, s in enumerate(ids)}
    since = np.array([_day(r.resident_since) for r in res], np.int64).astype(np.int32)
    residents = Residents(birth_days(ids), since)
    # By index, in batches: the residents (a region-code range), then their records (by
    # subject), then those records' events (by record) - never a join over whole tables.
    r, e = t.records.c, t.record_events.c
    recs: list[Any] = []
    for i in range(0, len(ids), BATCH):
        recs += conn.execute(
            select(r.id, r.subject_id, r.category, r.decision_date).where(
                r.subject_id.in_(ids[i : i + BATCH]), r.decision_date <= last
            )
        ).all()
    recs.sort(key=lambda x: x.id)
    row_of = {rec.id: k for k, rec in enumerate(recs)}
    rids = list(row_of)
    evs: list[Any] = []
    for i in range(0, len(rids), BATCH):
        evs += conn.execute(
            select(e.id, e.record_id, e.type, e.event_date, e.payload).where(
                e.record_id.in_(rids[i : i + BATCH]),
                e.event_date <= last,
                e.type != EventType.LISTED.value,
            )
        ).all()
    evs.sort(key=lambda x: (x.event_date, x.id))
    n = len(recs)
    fulfilled = np.full(n, NO_DAY, np.int64)
    ended = np.full(n, NO_DAY, np.int64)
    corrections: dict[int, list[tuple[dt.date, Any]]] = {}
    for ev in evs:
        k = row_of.get(ev.record_id)
        if k is None:
            continue
        day = _day(ev.event_date)
        if ev.type == EventType.FULFILLED.value:
            fulfilled[k] = min(fulfilled[k], day)
        elif ev.type in (EventType.WITHDRAWN.value, EventType.REPAIRED.value):
            ended[k] = min(ended[k], day)
        elif ev.type == EventType.CORRECTED.value and ev.payload is not None:
            corrections.setdefault(k, []).append((ev.event_date, ev.payload))
    return RegionData(
        programme,
        ids,
        [x.region_code for x in res],
        residents,
        np.array([index[x.subject_id] for x in recs], np.int64),
        [x.category for x in recs],
        [x.decision_date for x in recs],
        np.array([_day(x.decision_date) for x in recs], np.int64),
        fulfilled,
        ended,
        corrections,
    )


def region_scores(conn: Connection, programme: Programme, on: dt.date) -> RegionScores | None:
    """Every resident of the programme's region scored on ``on``, in bulk, from the store.

    Record states are replayed to ``on`` set-wise: first fulfilment, first withdrawal or
    repair, and the latest correction (which may change the category or decision date, as
    :func:`~socialcredit.domain.records.replay` does).
    """
    if not programme.enabled:
        return None
    return region_data(conn, programme, on).scores(on)


def _latest(conn: Connection, programme: str, before: dt.date) -> dict[str, tuple[int, str]]:
    h = score_history.c
    rows = conn.execute(
        select(h.subject_id, h.score, h.grade)
        .where(h.programme == programme, h.as_of < before)
        .order_by(h.subject_id, h.as_of, h.id)
    )
    return {s: (sc, g) for s, sc, g in rows}


def recompute(reg: Registry, on: dt.date, programme: str | None = None) -> list[dict[str, Any]]:
    """Recompute every resident of each programme in force (or one) on ``on``, in bulk.

    Writes a history row for each resident whose score or grade moved since their last row
    (re-running the same day replaces that day's rows), and first purges the scores of
    programmes no longer in force. Returns, per programme, counts and the grade distribution.
    """
    out: list[dict[str, Any]] = []
    with _write(reg) as conn:
        cfg = config(reg, conn)
        purged = _purge(conn, cfg)
        live = enabled(cfg)
        if programme is not None:
            if programme not in {p.id for p in cfg.pack.programmes}:
                raise InvalidInput.one("programme", "is not a scoring programme", programme)
            live = [p for p in live if p.id == programme]
        for prog in live:
            got = region_scores(conn, prog, on)
            if got is None:
                continue
            conn.execute(
                delete(score_history).where(
                    score_history.c.programme == prog.id, score_history.c.as_of == on
                )
            )
            last = _latest(conn, prog.id, on)
            s = got.scores
            now = _now()
            rows = []
            for i in np.flatnonzero(s.eligible):
                sid = got.subject_ids[i]
                val = (int(s.score[i]), s.grade_names[s.grade[i]])
                if last.get(sid) != val:
                    rows.append(
                        {
                            "subject_id": sid,
                            "programme": prog.id,
                            "programme_version": prog.version,
                            "as_of": on,
                            "score": val[0],
                            "grade": val[1],
                            "computed_at": now,
                        }
                    )
            for k in range(0, len(rows), 50_000):
                conn.execute(insert(score_history), rows[k : k + 50_000])
            out.append(
                {
                    "programme": prog.id,
                    "as_of": on.isoformat(),
                    "residents": len(got.subject_ids),
                    "eligible": int(s.eligible.sum()),
                    "history_rows_written": len(rows),
                    "distribution": s.distribution(),
                    "scores_purged": purged,
                }
            )
        if programme is None and on >= reg.today():
            # Every change this transaction sees is in today's scores: the incremental
            # follower can start from here instead of rescoring everyone one by one.
            from socialcredit.scoring.follow import catch_up

            catch_up(conn)
    return out


def history_count(reg: Registry, programme: str | None = None) -> int:
    with _read(reg) as conn:
        q = select(func.count()).select_from(score_history)
        if programme is not None:
            q = q.where(score_history.c.programme == programme)
        return int(conn.execute(q).scalar_one())


def month_ends(year: int, last: dt.date | None = None) -> list[dt.date]:
    """The last day of each month of ``year``, up to ``last``."""
    out = []
    for m in range(1, 13):
        nxt = dt.date(year + (m == 12), m % 12 + 1, 1)
        d = nxt - dt.timedelta(days=1)
        if last is not None and d > last:
            if dt.date(year, m, 1) <= last:
                out.append(last)
            break
        out.append(d)
    return out


def recompute_months(reg: Registry, year: int, last: dt.date | None = None) -> list[dict[str, Any]]:
    """Bulk recomputation at each month end of ``year`` (history with a monthly grain)."""
    out: list[dict[str, Any]] = []
    for day in month_ends(year, last):
        out += recompute(reg, day)
    return out
