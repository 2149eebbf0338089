"""Grade incentives for an ``allow``, read from the scores the scoring capability publishes.

Scoring writes a history row whenever a resident's score or grade moves (bulk recomputation,
and the follower that rescores a resident within seconds of a record change); switching a
programme off deletes its rows in the same transaction. A screening reads the subject's latest
row per programme as of the day and looks the grade up in the scoring document's incentives:
one indexed query, and only in the sectors some incentive names, so ticket sales never reach
the store and no subject is scored per request.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select

from socialcredit.rulepacks.scoring_config import ScoringConfig
from socialcredit.store.tables_scoring import score_history


def published_benefit(
    engine: Engine, cfg: ScoringConfig, subject_id: str, sector: str, on: dt.date
) -> str | None:
    """The measure an incentive in ``sector`` grants for the subject's published grade on
    ``on`` under a programme the document enables, or None."""
    if sector not in cfg.incentive_sectors or not cfg.pack.enabled:
        return None
    live = {p.id for p in cfg.pack.programmes if p.enabled}
    h = score_history.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(h.programme, h.grade)
            .where(h.subject_id == subject_id, h.as_of <= on)
            .order_by(h.as_of.desc(), h.id.desc())
        ).all()
    seen: set[str] = set()
    for programme, grade in rows:
        if programme in seen or programme not in live:
            continue
        seen.add(programme)
        for i in cfg.incentives:
            if i.programme_id == programme and i.sector == sector and grade in i.grades:
                return i.measure_id
    return None
