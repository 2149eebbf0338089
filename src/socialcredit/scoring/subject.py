"""One subject's scores: explained item by item with counterfactuals, incentives and history
(the subject's file), the incremental rescoring the follower drives, and history rows written
only when a score or grade moved."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from socialcredit.domain.identity import SubjectId, SubjectKind, parse_subject_id
from socialcredit.domain.records import RecordEvent
from socialcredit.domain.scoring import Programme, ScoreResult, score_subject
from socialcredit.rulepacks.scoring_config import (
    Incentive,
    ScoringConfig,
)
from socialcredit.runtime.registry import Registry
from socialcredit.scoring.programmes import _now, _read, _write, config, document
from socialcredit.scoring.residences import Residence, _residence
from socialcredit.store.tables_scoring import (
    score_history,
)


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
