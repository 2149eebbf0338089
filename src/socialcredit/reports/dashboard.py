"""The officials' live figures: aggregates only, small counts withheld as in the report.

One function, :func:`figures`, reads the change feeds set-wise: screenings in the last minute
by sector and decision (the screening log), new listings and removals today (records and
record events of batches received today), objections open and overdue (the case table), the
notice backlog and failures (the outbox). Every count from 1 to ``report_min_count`` - 1 is
published as ``None`` ("fewer than k"), as the transparency report does, so a figure never
points at a person; no figure carries an ID, a name or a case number.

The page's stream asks at most once a second whatever the number of watchers: the figures are
cached per registry for :data:`TTL` seconds.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from sqlalchemy import func, select

from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t
from socialcredit.store.tables_dueprocess import cases, notices
from socialcredit.store.tables_screening import screening_log

TTL = 1.0
REMOVALS = ("fulfilled", "withdrawn", "repaired")
_cache: dict[int, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def _small(count: int, k: int) -> int | None:
    return None if 0 < count < k else count


def _day_start_utc(reg: Registry) -> dt.datetime:
    day = reg.today()
    start = dt.datetime.combine(day, dt.time(), reg.tz)
    return start.astimezone(dt.UTC).replace(tzinfo=None)


def compute(reg: Registry) -> dict[str, Any]:
    """The figures now (uncached)."""
    k = reg.settings.report_min_count
    # The log and the batches are stamped with the wall clock (not the registry's clock).
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    minute_ago = now - dt.timedelta(seconds=60)
    since = _day_start_utc(reg)
    today = reg.today()
    s = screening_log.c
    with reg.engine.connect() as conn:
        per_minute = conn.execute(
            select(s.sector, s.decision, func.count())
            .where(s.at >= minute_ago)
            .group_by(s.sector, s.decision)
            .order_by(s.sector, s.decision)
        ).all()
        todays = select(t.batches.c.id).where(t.batches.c.received_at >= since)
        new_listings = conn.execute(
            select(func.count()).where(t.records.c.batch_id.in_(todays))
        ).scalar_one()
        removals = conn.execute(
            select(func.count()).where(
                t.record_events.c.batch_id.in_(todays), t.record_events.c.type.in_(REMOVALS)
            )
        ).scalar_one()
        open_q = select(func.count()).where(
            cases.c.decided_on.is_(None), cases.c.kind.in_(("objection", "reconsideration"))
        )
        open_cases = conn.execute(open_q).scalar_one()
        overdue = conn.execute(open_q.where(cases.c.due_on < today)).scalar_one()
        by_status: dict[str, int] = dict(
            conn.execute(select(notices.c.status, func.count()).group_by(notices.c.status)).all()
        )
    return {
        "as_of": now.replace(microsecond=0).isoformat() + "Z",
        "min_count": k,
        "screenings_per_minute": [
            {"sector": sector, "decision": decision, "count": _small(int(n), k)}
            for sector, decision, n in per_minute
        ],
        "new_listings_today": _small(int(new_listings), k),
        "removals_today": _small(int(removals), k),
        "objections_open": _small(int(open_cases), k),
        "objections_overdue": _small(int(overdue), k),
        "notices_backlog": _small(int(by_status.get("queued", 0)), k),
        "notices_failed": _small(int(by_status.get("failed", 0)), k),
    }


def figures(reg: Registry) -> dict[str, Any]:
    """The figures, computed at most once per :data:`TTL` seconds per registry."""
    key = id(reg)
    hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < TTL:
        return hit[1]
    with _lock:
        hit = _cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < TTL:
            return hit[1]
        d = compute(reg)
        _cache[key] = (time.monotonic(), d)
        return d
