"""Regional scoring in the registry: residences, scores from the store, history, switches.

* :func:`subject_scores` - a subject's score under the programme of the region they live in,
  explained item by item, with counterfactuals, incentives and history (the subject's file).
* :func:`rescore_subject` - the incremental path (``scoring_follow`` drives it): one subject
  recomputed with :func:`~socialcredit.domain.scoring.score_subject` after their records
  changed (the ``subject_changes`` feed says whose), history written when the score moved.
* :func:`recompute` - the bulk path: a whole programme region recomputed over columns
  (:func:`~socialcredit.scoring.bulk.score_bulk`), history written for every resident whose
  score or grade moved since their last row.
* :func:`set_switch` - the operator's per-jurisdiction switch. Off deletes every score the
  programme produced, in the same transaction; every view also filters by the switches, so
  a programme switched off in the scoring document is gone from views before any purge.
* :func:`benefits_for` - the incentives a top grade earns in one sector, for screening.

History keeps a row per change, not per run: a resident whose score never moves has one row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select

from socialcredit.domain.identity import SubjectId, SubjectKind, parse_subject_id
from socialcredit.domain.records import EventType, RecordEvent
from socialcredit.domain.rules import RulePack
from socialcredit.domain.scoring import Programme, ScoreResult, score_subject
from socialcredit.errors import InvalidInput
from socialcredit.rulepacks.scoring_config import (
    ALL,
    SCORING_LISTS,
    Incentive,
    ScoringConfig,
    load_config,
    with_switches,
)
from socialcredit.runtime.registry import Registry
from socialcredit.scoring.bulk import NO_DAY, BulkScores, RecordColumns, Residents, score_bulk
from socialcredit.store import tables as t
from socialcredit.store.codec import record_from_json
from socialcredit.store.tables_scoring import (
    residences,
    score_history,
    scoring_switches,
)

EPOCH = dt.date(1970, 1, 1)
_CONFIGS: dict[int, tuple[RulePack, ScoringConfig]] = {}


# --------------------------------------------------------------------------- plumbing


@contextmanager
def _read(reg: Registry) -> Iterator[Connection]:
    with reg.engine.connect() as conn:
        conn.execution_options(socialcredit_readonly=True)
        with conn.begin():
            yield conn


@contextmanager
def _write(reg: Registry) -> Iterator[Connection]:
    with reg.engine.begin() as conn:
        yield conn


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def base_rulepack(pack: RulePack) -> RulePack:
    """``pack`` without the scoring-only categories the registry added to it."""
    cats = {k: c for k, c in pack.categories.items() if c.list_id not in SCORING_LISTS}
    if len(cats) == len(pack.categories):
        return pack
    lists = {k: v for k, v in pack.lists.items() if k not in SCORING_LISTS}
    return replace(pack, categories=cats, lists=lists)


def document(reg: Registry) -> ScoringConfig:
    """The scoring document as written (switches not applied), loaded once per rule pack."""
    hit = _CONFIGS.get(id(reg.pack))
    if hit is None or hit[0] is not reg.pack:
        hit = (reg.pack, load_config(base_rulepack(reg.pack)))
        _CONFIGS[id(reg.pack)] = hit
    return hit[1]


def switches(conn: Connection) -> dict[str, bool]:
    rows = conn.execute(
        select(scoring_switches.c.programme, scoring_switches.c.enabled).order_by(
            scoring_switches.c.id
        )
    )
    return {p: bool(on) for p, on in rows}


def config(reg: Registry, conn: Connection | None = None) -> ScoringConfig:
    """The programmes in force: the document with the operator's switches applied."""
    if conn is None:
        with _read(reg) as c:
            return with_switches(document(reg), switches(c))
    return with_switches(document(reg), switches(conn))


def enabled(cfg: ScoringConfig) -> list[Programme]:
    return [p for p in cfg.pack.programmes if cfg.pack.enabled and p.enabled]


def _purge(conn: Connection, cfg: ScoringConfig) -> int:
    keep = [p.id for p in enabled(cfg)]
    res = conn.execute(delete(score_history).where(score_history.c.programme.not_in(keep)))
    return int(res.rowcount or 0)


def purge_disabled(reg: Registry) -> int:
    """Delete every score of a programme not in force; return how many rows went."""
    with _write(reg) as conn:
        return _purge(conn, config(reg, conn))


# --------------------------------------------------------------------------- switches


def set_switch(reg: Registry, programme: str, on: bool, reason: str) -> dict[str, Any]:
    """Switch one programme (or ``*``, all) on or off, with a reason kept on record.

    Off removes every score the programme produced, in the same transaction. On can only
    restore what the scoring document itself enables (and scores come back at the next
    recomputation, not from the deleted rows).
    """
    doc = document(reg)
    known = {p.id for p in doc.pack.programmes}
    if programme != ALL and programme not in known:
        raise InvalidInput.one(
            "programme", f"is not a scoring programme ({', '.join(sorted(known))} or *)", programme
        )
    if not reason.strip():
        raise InvalidInput.one("reason", "is required: say why (e.g. the law that bans it)")
    with _write(reg) as conn:
        conn.execute(
            insert(scoring_switches).values(
                programme=programme, enabled=on, at=_now(), reason=reason.strip()
            )
        )
        cfg = config(reg, conn)
        removed = _purge(conn, cfg)
    return {
        "programme": programme,
        "switched": "on" if on else "off",
        "reason": reason.strip(),
        "scores_removed": removed,
        "in_force": [p.id for p in enabled(cfg)],
    }


def programmes(reg: Registry) -> list[dict[str, Any]]:
    """Every programme of the document and whether it is in force."""
    cfg = config(reg)
    live = {p.id for p in enabled(cfg)}
    doc = document(reg).pack
    return [
        {
            "id": p.id,
            "name": p.name,
            "region_prefix": p.region_prefix,
            "region_name": p.region_name,
            "version": p.version,
            "in_force": p.id in live,
            "enabled_in_document": doc.enabled and p.enabled,
            "grades": [g.name for g in p.grades],
            "illustrative": p.illustrative,
            "note": p.note,
        }
        for p in doc.programmes
    ]


# --------------------------------------------------------------------------- residences


@dataclass(frozen=True)
class Residence:
    subject_id: str
    region_code: str
    resident_since: dt.date | None


def write_residences(conn: Connection, rows: Sequence[Residence]) -> int:
    """Insert or replace residences (one per subject), set-wise."""
    if not rows:
        return 0
    ids = [r.subject_id for r in rows]
    for i in range(0, len(ids), 20_000):
        conn.execute(delete(residences).where(residences.c.subject_id.in_(ids[i : i + 20_000])))
    values = [
        {
            "subject_id": r.subject_id,
            "region_code": r.region_code,
            "resident_since": r.resident_since,
        }
        for r in rows
    ]
    for i in range(0, len(values), 100_000):
        conn.execute(insert(residences), values[i : i + 100_000])
    return len(rows)


def set_residence(
    reg: Registry, subject_id: str, region_code: str, resident_since: dt.date | None
) -> dict[str, Any]:
    """Record where a person lives and since when (a move replaces the previous residence)."""
    sid = parse_subject_id(subject_id, field="subject_id")
    if sid.kind is not SubjectKind.PERSON:
        raise InvalidInput.one("subject_id", "only natural persons have a residence", sid.value)
    if not (len(region_code) == 6 and region_code.isdigit()):
        raise InvalidInput.one("region_code", "must be a 6-digit GB/T 2260 code", region_code)
    if resident_since is not None and resident_since > reg.today():
        raise InvalidInput.one(
            "resident_since", "must not be in the future", resident_since.isoformat()
        )
    from socialcredit.registry.feed import note_change

    with _write(reg) as conn:
        write_residences(conn, [Residence(sid.value, region_code, resident_since)])
        note_change(conn, sid.value, "residence")  # the scoring follower rescores them
    return {
        "subject_id": sid.value,
        "region_code": region_code,
        "resident_since": None if resident_since is None else resident_since.isoformat(),
    }


def _residence(conn: Connection, subject_id: str) -> Residence | None:
    row = conn.execute(select(residences).where(residences.c.subject_id == subject_id)).first()
    if row is None:
        return None
    return Residence(row.subject_id, row.region_code, row.resident_since)


# --------------------------------------------------------------------------- one subject


@dataclass(frozen=True)
class _SubjectScore:
    programme: Programme
    residence: Residence
    result: ScoreResult


def _events(conn: Connection, sid: SubjectId) -> list[RecordEvent]:
    # On the caller's connection: one snapshot, and no second writer waiting on the first.
    from socialcredit.store.sql import SqlRecords

    return SqlRecords(conn).events_for_subject(sid.value)


def _score_one(
    reg: Registry, conn: Connection, cfg: ScoringConfig, sid: SubjectId, on: dt.date
) -> _SubjectScore | None:
    if sid.kind is not SubjectKind.PERSON:
        return None
    res = _residence(conn, sid.value)
    if res is None:
        return None
    prog = cfg.pack.programme_for(res.region_code)
    if prog is None:
        return None
    result = score_subject(sid, res.region_code, res.resident_since, _events(conn, sid), prog, on)
    return None if result is None else _SubjectScore(prog, res, result)


def incentives_for(cfg: ScoringConfig, programme_id: str, grade: str) -> list[Incentive]:
    """The incentives a grade of a programme earns (pure)."""
    return [i for i in cfg.incentives if i.programme_id == programme_id and grade in i.grades]


def _benefit(i: Incentive, grade: str, version: str) -> dict[str, Any]:
    return {
        "sector": i.sector,
        "measure": i.measure_id,
        "programme": i.programme_id,
        "grade": grade,
        "description": i.description,
        "rule_id": f"scoring.{i.programme_id}.{i.measure_id}",
        "scoring_version": version,
    }


def _history(
    conn: Connection, subject_id: str, programme: str, on: dt.date
) -> list[dict[str, Any]]:
    h = score_history.c
    rows = conn.execute(
        select(h.as_of, h.score, h.grade, h.programme_version)
        .where(h.subject_id == subject_id, h.programme == programme, h.as_of <= on)
        .order_by(h.as_of, h.id)
    )
    return [
        {"as_of": r.as_of.isoformat(), "score": r.score, "grade": r.grade,
         "programme_version": r.programme_version}
        for r in rows
    ]  # fmt: skip


def subject_scores(reg: Registry, subject_id: str, on: dt.date) -> list[dict[str, Any]]:
    """The subject's scores on ``on``: one entry per programme in force that scores them.

    Each entry: ``programme`` (id, name, region), ``score``, ``grade``, ``explanation`` (the
    lines of :meth:`ScoreResult.explain`), ``items``, ``counterfactuals`` (what would raise the
    grade and when), ``benefits`` (incentives the grade earns), ``history`` (every recorded
    change up to ``on``). Empty when the subject lives in no region with a programme in
    force, or is not eligible (a minor, resident less than the minimum, an enterprise).
    """
    sid = parse_subject_id(subject_id, field="subject_id")
    with _read(reg) as conn:
        cfg = config(reg, conn)
        got = _score_one(reg, conn, cfg, sid, on)
        if got is None:
            return []
        prog, res, r = got.programme, got.residence, got.result
        history = _history(conn, sid.value, prog.id, on)
    return [
        {
            "programme": prog.id,
            "programme_name": prog.name,
            "programme_version": prog.version,
            "region_code": res.region_code,
            "region_name": prog.region_name,
            "resident_since": None
            if res.resident_since is None
            else res.resident_since.isoformat(),
            "as_of": on.isoformat(),
            "base": r.base,
            "score": r.score,
            "grade": r.grade,
            "grades": [{"name": g.name, "min_score": g.min_score} for g in prog.grades],
            "illustrative": r.illustrative,
            "explanation": r.explain(),
            "items": [
                {
                    "record": str(i.ref),
                    "category": i.category,
                    "rule_id": i.rule_id,
                    "rule": i.rule_name,
                    "points": i.points,
                    "periods": i.periods,
                    "counts_from": i.counts_from.isoformat(),
                    "stops_on": i.stops_on.isoformat(),
                    "fulfilment_stops_it": i.fulfilment_stops_it,
                }
                for i in r.items
            ],
            "caps": [
                {"rule_id": c.rule_id, "raw_total": c.raw_total, "capped_total": c.capped_total}
                for c in r.caps
            ],
            "counterfactuals": [
                {
                    "kind": c.kind.value,
                    "records": [str(x) for x in c.refs],
                    "on": c.on.isoformat(),
                    "score": c.score,
                    "grade": c.grade,
                    "explanation": c.explain(),
                }
                for c in r.counterfactuals
            ],
            "notes": list(r.notes),
            "benefits": [
                _benefit(i, r.grade, prog.version) for i in incentives_for(cfg, prog.id, r.grade)
            ],
            "history": history,
        }
    ]


def benefits_for(reg: Registry, subject_id: str, sector: str, on: dt.date) -> list[dict[str, Any]]:
    """Incentives in ``sector`` that the subject's grade earns on ``on`` (none if not scored).

    For the screening API: an ``allow`` may carry these as its ``benefit``. Sectors no
    incentive names return at once without touching the store; otherwise the grade is
    computed afresh from the subject's records (never read from a possibly stale history).
    """
    cfg = document(reg)
    if sector not in cfg.incentive_sectors:
        return []
    sid = parse_subject_id(subject_id, field="subject_id")
    with _read(reg) as conn:
        cfg = config(reg, conn)
        got = _score_one(reg, conn, cfg, sid, on)
    if got is None:
        return []
    grade = got.result.grade
    return [
        _benefit(i, grade, got.programme.version)
        for i in incentives_for(cfg, got.programme.id, grade)
        if i.sector == sector
    ]


def _record_change(
    conn: Connection, subject_id: str, prog: Programme, on: dt.date, score: int, grade: str
) -> bool:
    """Write a history row when the score or grade differs from the last one before ``on``."""
    h = score_history.c
    conn.execute(
        delete(score_history).where(
            h.subject_id == subject_id, h.programme == prog.id, h.as_of == on
        )
    )
    last = conn.execute(
        select(h.score, h.grade)
        .where(h.subject_id == subject_id, h.programme == prog.id, h.as_of < on)
        .order_by(h.as_of.desc(), h.id.desc())
        .limit(1)
    ).first()
    if last is not None and (last.score, last.grade) == (score, grade):
        return False
    conn.execute(
        insert(score_history).values(
            subject_id=subject_id,
            programme=prog.id,
            programme_version=prog.version,
            as_of=on,
            score=score,
            grade=grade,
            computed_at=_now(),
        )
    )
    return True


def rescore_subject(reg: Registry, subject_id: str, on: dt.date) -> dict[str, Any] | None:
    """Recompute one subject (after their records or residence changed) and keep history."""
    sid = parse_subject_id(subject_id, field="subject_id")
    with _write(reg) as conn:
        cfg = config(reg, conn)
        got = _score_one(reg, conn, cfg, sid, on)
        if got is None:
            return None
        r = got.result
        changed = _record_change(conn, sid.value, got.programme, on, r.score, r.grade)
    return {
        "subject_id": sid.value,
        "programme": got.programme.id,
        "score": r.score,
        "grade": r.grade,
        "changed": changed,
    }


# --------------------------------------------------------------------------- bulk


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


__all__ = [
    "Residence",
    "RegionScores",
    "benefits_for",
    "birth_days",
    "config",
    "document",
    "incentives_for",
    "month_ends",
    "programmes",
    "purge_disabled",
    "recompute",
    "recompute_months",
    "region_scores",
    "rescore_subject",
    "set_residence",
    "set_switch",
    "subject_scores",
    "write_residences",
]


# --------------------------------------------------------------------------- demo data


def populate_scoring(
    reg: Registry,
    subjects: Any,
    *,
    year: int,
    seed: int,
    today: dt.date,
) -> dict[str, Any]:
    """For ``socialcredit generate``: residences of the generated persons, a year of
    scoring-only records for residents of programme regions (ingested like any batch, from
    local authorities registered here), and month-end score history for the year.

    ``subjects`` is the generated population's Arrow table (``subject_id``, ``kind``,
    ``name``, ``birth_date``). Does nothing but residences when no programme is in force.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from socialcredit.registry.ingest import ingest_table
    from socialcredit.synthetic import scoring as synthetic
    from socialcredit.synthetic.records import SCHEMA

    on = min(today, dt.date(year, 12, 31))
    persons = subjects.filter(pc.equal(subjects.column("kind"), "person"))
    ids: list[str] = persons.column("subject_id").to_pylist()
    born = persons.column("birth_date").cast(pa.int32()).to_numpy().astype(np.int64)
    region, since = synthetic.residences(ids, born, on, seed)
    rows = [
        Residence(s, r, None if d < 0 else EPOCH + dt.timedelta(days=int(d)))
        for s, r, d in zip(ids, region, since.tolist(), strict=True)
    ]
    with _write(reg) as conn:
        write_residences(conn, rows)
        cfg = config(reg, conn)
    out: dict[str, Any] = {"residences": len(rows)}
    if not enabled(cfg):
        return out
    kinds: dict[str, frozenset[str]] = {}
    for c in reg.pack.categories.values():
        for k in c.authority_kinds:
            kinds[k] = kinds.get(k, frozenset()) | {c.id}
    local = synthetic.local_authorities(kinds)
    with reg.uow() as uow:
        for a in local:
            if uow.authorities.get(a.code) is None:
                uow.authorities.add(a)
        uow.commit()
    basis = {c.id: c.legal_basis for c in reg.pack.categories.values()}
    names: list[str] = persons.column("name").to_pylist()
    table = synthetic.scoring_records(
        ids, names, region, born, local, year, on, seed, SCHEMA, basis
    )
    report = ingest_table(
        reg.uow(),
        table,
        source=f"synthetic scoring records seed={seed} year={year}",
        pack=reg.pack,
        today=today,
    )
    history = recompute_months(reg, year, on)
    out |= {
        "scoring_records_accepted": report.accepted,
        "scoring_records_rejected": len(report.rejected),
        "programmes": sorted({h["programme"] for h in history}),
        "history_rows": sum(h["history_rows_written"] for h in history),
    }
    return out
