"""Blocked purchases: screenings answered ``deny``, by month and by sector, counted from the
screening log one month's range of its ``at`` index at a time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, text

from socialcredit.reports.period import EPOCH, Period, Table, _has, _param


def _month_bounds(p: Period) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end) of each month of the period, local midnights expressed in UTC."""
    out = []
    last = EPOCH + dt.timedelta(days=p.last + 1)
    for i in range(len(p.months)):
        a = dt.date(p.year, i + 1, 1)
        b = dt.date(p.year + (i == 11), (i + 1) % 12 + 1, 1)
        out.append((a, min(b, last)))
    return [
        (
            dt.datetime.combine(a, dt.time()) - p.utc_offset,
            dt.datetime.combine(b, dt.time()) - p.utc_offset,
        )
        for a, b in out
    ]


def blocked(conn: Connection, p: Period, notes: list[str]) -> tuple[Table, Table]:
    head = Table(
        "blocked_purchases",
        "Purchases blocked at the point of sale (screenings answered deny), by month",
        ["month", "flight", "rail.high_class", "rail (all)", "all sectors", "screenings"],
    )
    by_sector = Table(
        "blocked_by_sector", "Screenings answered deny, by sector", ["sector", *p.months, "total"]
    )
    if not _has(conn, "screening_log"):
        notes.append("no screening log in this registry: blocked purchases are zero")
        head.rows = [[m, 0, 0, 0, 0, 0] for m in p.months]
        return head, by_sector
    # Per month, one range scan of the ``at`` index for the deny answers by sector and one
    # of the index alone for the count: the log is the largest table the report reads, and
    # grouping every row (allow and deny) by sector and answer sorted twice as many rows.
    n = len(p.months)
    flight, high, rail, deny, total = ([0] * n for _ in range(5))
    sectors: dict[str, list[int]] = {}
    where = "FROM screening_log WHERE at >= :a AND at < :b"
    for i, (a, b) in enumerate(_month_bounds(p)):
        bounds = {"a": _param(conn, a), "b": _param(conn, b)}
        total[i] = int(conn.execute(text(f"SELECT count(*) {where}"), bounds).scalar_one())
        denied = conn.execute(
            text(f"SELECT sector, count(*) {where} AND decision = 'deny' GROUP BY 1"), bounds
        )
        for sector, count in denied:
            deny[i] += count
            sectors.setdefault(sector, [0] * n)[i] += count
            flight[i] += count if sector == "flight" else 0
            high[i] += count if sector == "rail.high_class" else 0
            rail[i] += count if sector.startswith("rail") else 0
    head.rows = [
        [m, flight[i], high[i], rail[i], deny[i], total[i]] for i, m in enumerate(p.months)
    ]
    by_sector.rows = [[s, *v, sum(v)] for s, v in sorted(sectors.items())]
    return head, by_sector
