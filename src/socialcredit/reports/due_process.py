"""Due process: objections, reconsiderations and repair applications filed and decided, with
the days taken to decide them; notices to subjects created, sent, delivered and failed.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from socialcredit.reports.period import EPOCH, Period, Table, _d, _has, _param

CASE_KINDS = ("objection", "reconsideration", "repair")


def _month_sql(conn: Connection, col: str, p: Period) -> str:
    hours = int(p.utc_offset.total_seconds() // 3600)
    if conn.dialect.name == "sqlite":
        return f"strftime('%Y-%m', {col}, '{hours:+d} hours')"
    return f"to_char({col} + interval '{hours} hours', 'YYYY-MM')"


def _utc_bounds(p: Period) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(EPOCH + dt.timedelta(days=p.first), dt.time()) - p.utc_offset
    end = dt.datetime.combine(EPOCH + dt.timedelta(days=p.last + 1), dt.time()) - p.utc_offset
    return start, end


def _nearest_rank(xs: list[int], q: float) -> int | None:
    if not xs:
        return None
    s = sorted(xs)
    k = max(1, int(np.ceil(q / 100 * len(s))))
    return s[k - 1]


def cases(conn: Connection, p: Period, notes: list[str]) -> tuple[Table, dict[str, Any]]:
    cols = ["month"]
    for k in CASE_KINDS:
        cols += [f"{k}s filed", f"{k}s upheld", f"{k}s rejected"]
    cols += ["median days to decide", "95th percentile days", "share within deadline"]
    table = Table("cases", "Objections, reconsiderations and repair applications", cols)
    nm = len(p.months)
    filed = {k: [0] * nm for k in CASE_KINDS}
    up = {k: [0] * nm for k in CASE_KINDS}
    rej = {k: [0] * nm for k in CASE_KINDS}
    days: list[list[int]] = [[] for _ in range(nm)]
    ontime: list[list[bool]] = [[] for _ in range(nm)]
    per_kind_days: dict[str, list[int]] = {k: [] for k in CASE_KINDS}
    per_kind_ontime: dict[str, list[bool]] = {k: [] for k in CASE_KINDS}
    if not _has(conn, "cases"):
        notes.append("no due-process cases table in this registry: case figures are zero")
        rows: Sequence[Any] = []
    else:
        first, last = EPOCH + dt.timedelta(days=p.first), EPOCH + dt.timedelta(days=p.last)
        rows = conn.execute(
            text(
                "SELECT kind, filed_on, due_on, decided_on, outcome FROM cases "
                "WHERE (filed_on >= :a AND filed_on <= :b) "
                "OR (decided_on >= :a AND decided_on <= :b)"
            ),
            {"a": _param(conn, first), "b": _param(conn, last)},
        ).all()
    for kind, filed_on, due_on, decided_on, outcome in rows:
        if kind not in filed:
            continue
        f = _d(filed_on)
        if p.first <= f <= p.last:
            filed[kind][p.month_index(np.array([f]))[0]] += 1
        if decided_on is None:
            continue
        d = _d(decided_on)
        if not p.first <= d <= p.last:
            continue
        mi = int(p.month_index(np.array([d]))[0])
        (up if outcome == "upheld" else rej)[kind][mi] += 1
        days[mi].append(d - f)
        ontime[mi].append(d <= _d(due_on))
        per_kind_days[kind].append(d - f)
        per_kind_ontime[kind].append(d <= _d(due_on))
    for i, m in enumerate(p.months):
        row: list[Any] = [m]
        for k in CASE_KINDS:
            row += [filed[k][i], up[k][i], rej[k][i]]
        row += [
            statistics.median(days[i]) if days[i] else None,
            _nearest_rank(days[i], 95),
            round(sum(ontime[i]) / len(ontime[i]), 4) if ontime[i] else None,
        ]
        table.rows.append(row)
    totals = {
        k: {
            "filed": sum(filed[k]),
            "upheld": sum(up[k]),
            "rejected": sum(rej[k]),
            "median_days_to_decide": statistics.median(per_kind_days[k])
            if per_kind_days[k]
            else None,
            "p95_days_to_decide": _nearest_rank(per_kind_days[k], 95),
            "share_within_deadline": round(sum(per_kind_ontime[k]) / len(per_kind_ontime[k]), 4)
            if per_kind_ontime[k]
            else None,
        }
        for k in CASE_KINDS
    }
    return table, totals


def notices(conn: Connection, p: Period, notes: list[str]) -> tuple[Table, dict[str, Any]]:
    table = Table(
        "notices",
        "Notices to subjects: created, sent, delivered and failed",
        ["month", "created", "sent", "delivered", "failed"],
    )
    nm = len(p.months)
    series = {k: [0] * nm for k in ("created", "sent", "delivered", "failed")}
    if not _has(conn, "notices"):
        notes.append("no notices table in this registry: notice figures are zero")
    else:
        start, end = _utc_bounds(p)
        col = {m: i for i, m in enumerate(p.months)}
        for name, column, extra in (
            ("created", "created_at", ""),
            ("sent", "sent_at", "AND status IN ('sent', 'delivered')"),
            ("delivered", "delivered_at", "AND status = 'delivered'"),
            ("failed", "created_at", "AND status = 'failed'"),
        ):
            month = _month_sql(conn, column, p)
            q = (
                f"SELECT {month}, count(*) FROM notices WHERE {column} >= :a AND {column} < :b "
                f"{extra} GROUP BY 1"
            )
            bounds = {"a": _param(conn, start), "b": _param(conn, end)}
            for m, c in conn.execute(text(q), bounds):
                if m in col:
                    series[name][col[m]] += int(c)
    table.rows = [[m, *(series[k][i] for k in series)] for i, m in enumerate(p.months)]
    return table, {k: sum(v) for k, v in series.items()}
