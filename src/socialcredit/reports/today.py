"""Today's live figures: one function, :func:`today`, for the officials' dashboard
(``reports/dashboard.py``, pushed by server-sent events) and for ``/metrics``
(``web/metrics.py``), so the two never disagree.

- ``new_listings``: records accepted today (in batches received since midnight in the
  registry's time zone): each lists its subject, though a publicity period may hold the
  restriction back;
- ``removals``: subjects removed from the lists today, by reason, as the transparency report
  counts them: fulfilled, expired (a term that ran out yesterday), objection upheld,
  withdrawn, repaired (``reports/day_removals.py``);
- ``objections_open`` / ``objections_overdue``: objection and reconsideration cases not yet
  decided, and those of them past their due day;
- ``notices_backlog`` / ``notices_failed``: notices queued and not sent, and failed;
- ``screenings``: screenings logged in the last minute, by sector and decision.

The counts are exact; :func:`published` withholds the small ones (1 to
``report_min_count`` - 1 become ``None``, "fewer than k") as the report does. Removals are
recomputed only when something arrived, at most every :data:`RECOMPUTE_S` seconds, over the
day's candidates (found once a day, then among what arrived since: ``_removals_today``).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from socialcredit.reports.day_removals import candidates, removals_on
from socialcredit.reports.listings import REASONS
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t
from socialcredit.store.tables_dueprocess import cases, notices
from socialcredit.store.tables_screening import screening_log

CASE_KINDS = ("objection", "reconsideration")
RECOMPUTE_S = 10.0  # removals lag new events by at most this much (a recompute reads records)


@dataclass(frozen=True)
class Today:
    """Today's figures, exact (see the module docstring)."""

    day: dt.date
    as_of: dt.datetime  # naive UTC
    new_listings: int
    removals: dict[str, int]  # REASONS -> subjects removed today
    objections_open: int
    objections_overdue: int
    notices_backlog: int
    notices_failed: int
    screenings: list[tuple[str, str, int]]  # (sector, decision, count) in the last minute

    @property
    def removals_total(self) -> int:
        return sum(self.removals.values())


@dataclass
class _Removals:
    """One database's removals today: the candidates found so far, and the figure."""

    day: dt.date
    last_record: int
    last_event: int
    subjects: set[str]
    removals: dict[str, int]
    at: float  # time.monotonic() of the computation


_removals: dict[str, _Removals] = {}
_lock = threading.Lock()


def _day_start_utc(reg: Registry, day: dt.date) -> dt.datetime:
    start = dt.datetime.combine(day, dt.time(), reg.tz)
    return start.astimezone(dt.UTC).replace(tzinfo=None)


def _removals_today(
    reg: Registry, day: dt.date, last_record: int, last_event: int
) -> dict[str, int]:
    """The day's removals: candidates found once a day, then only among the records and events
    that arrived since (a range of their ids); the figure recomputed over the candidates when
    something arrived, at most every :data:`RECOMPUTE_S` seconds."""
    db = reg.engine.url.render_as_string(hide_password=True)  # one database, one entry
    with _lock:
        st = _removals.get(db)
        if st is not None and st.day == day:
            if (st.last_record, st.last_event) == (last_record, last_event):
                return st.removals
            if time.monotonic() - st.at < RECOMPUTE_S:
                return st.removals
    with reg.read_engine.connect() as conn:
        if st is None or st.day != day:
            subjects = candidates(conn, reg.pack, day)
        else:
            subjects = st.subjects | candidates(conn, reg.pack, day, st.last_record, st.last_event)
    got = removals_on(reg, day, subjects)
    with _lock:
        _removals[db] = _Removals(day, last_record, last_event, subjects, got, time.monotonic())
    return got


def today(reg: Registry) -> Today:
    """The figures now: one read of each table (the removals only when records changed)."""
    # The log and the batches are stamped with the wall clock, not the registry's clock.
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    day = reg.today()
    since = _day_start_utc(reg, day)
    s, c, n = screening_log.c, cases.c, notices.c
    open_case = c.decided_on.is_(None) & c.kind.in_(CASE_KINDS)
    with reg.read_engine.connect() as conn:
        per_minute = conn.execute(
            select(s.sector, s.decision, func.count())
            .where(s.at >= now - dt.timedelta(seconds=60))
            .group_by(s.sector, s.decision)
            .order_by(s.sector, s.decision)
        ).all()
        todays = select(t.batches.c.id).where(t.batches.c.received_at >= since)
        new = conn.scalar(select(func.count()).where(t.records.c.batch_id.in_(todays)))
        opened = conn.scalar(select(func.count()).where(open_case))
        overdue = conn.scalar(select(func.count()).where(open_case, c.due_on < day))
        by_status: dict[str, int] = dict(
            conn.execute(
                select(n.status, func.count())
                .where(n.status.in_(("queued", "failed")))
                .group_by(n.status)
            ).all()
        )
        last_record = int(conn.scalar(select(func.max(t.records.c.id))) or 0)
        last_event = int(conn.scalar(select(func.max(t.record_events.c.id))) or 0)
    return Today(
        day=day,
        as_of=now.replace(microsecond=0),
        new_listings=int(new or 0),
        removals=_removals_today(reg, day, last_record, last_event),
        objections_open=int(opened or 0),
        objections_overdue=int(overdue or 0),
        notices_backlog=int(by_status.get("queued", 0)),
        notices_failed=int(by_status.get("failed", 0)),
        screenings=[(str(a), str(b), int(x)) for a, b, x in per_minute],
    )


def withheld(count: int, k: int) -> int | None:
    """A count as published: ``None`` ("fewer than k") from 1 to k - 1."""
    return None if 0 < count < k else count


def published(f: Today, k: int) -> dict[str, Any]:
    """The figures as the dashboard shows them: small counts withheld, nobody named."""
    return {
        "as_of": f.as_of.isoformat() + "Z",
        "day": f.day.isoformat(),
        "min_count": k,
        "screenings_per_minute": [
            {"sector": a, "decision": b, "count": withheld(x, k)} for a, b, x in f.screenings
        ],
        "new_listings_today": withheld(f.new_listings, k),
        "removals_today": withheld(f.removals_total, k),
        "removals_by_reason": {r: withheld(f.removals[r], k) for r in REASONS},
        "objections_open": withheld(f.objections_open, k),
        "objections_overdue": withheld(f.objections_overdue, k),
        "notices_backlog": withheld(f.notices_backlog, k),
        "notices_failed": withheld(f.notices_failed, k),
    }
