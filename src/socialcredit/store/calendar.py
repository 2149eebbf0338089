"""Official calendar years loaded by the operator, kept in the store.

A newly announced year (the State Council publishes the next year's holidays each autumn)
is loaded from a file and replaces any earlier load of that year in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Connection, Engine, delete, insert, select

from socialcredit.domain.calendar import WorkCalendar
from socialcredit.store.calendar_source import calendar_from_days
from socialcredit.store.tables import calendar_days, calendar_years


def stored_calendar(engine: Engine) -> WorkCalendar | None:
    with engine.connect() as conn:
        years = {int(y) for (y,) in conn.execute(select(calendar_years.c.year))}
        if not years:
            return None
        rows = [
            (d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)), bool(w))
            for d, w in conn.execute(select(calendar_days.c.day, calendar_days.c.is_workday))
        ]
    return calendar_from_days(rows, years, "operator-loaded")


def store_calendar(
    engine: Engine,
    cal: WorkCalendar,
    now: dt.datetime,
    *,
    then: Callable[[Connection, list[int]], object] | None = None,
) -> list[int]:
    """Replace the stored data of every year ``cal`` knows; return those years.

    ``then(conn, years)`` runs last in the same transaction (the transparency log's leaves)."""
    years = sorted(cal.known_years)
    with engine.begin() as conn:
        conn.execute(delete(calendar_days).where(calendar_days.c.year.in_(years)))
        conn.execute(delete(calendar_years).where(calendar_years.c.year.in_(years)))
        conn.execute(
            insert(calendar_years),
            [{"year": y, "source": cal.source, "loaded_at": now} for y in years],
        )
        rows = [{"day": d, "is_workday": False, "year": d.year} for d in sorted(cal.holidays)]
        rows += [{"day": d, "is_workday": True, "year": d.year} for d in sorted(cal.workdays)]
        if rows:
            conn.execute(insert(calendar_days), rows)
        if then is not None:
            then(conn, years)
    return years
