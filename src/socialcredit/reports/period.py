"""What every figure of the transparency report is computed over: the period asked about (as
day numbers since 1970, with its months in the registry's time zone), the :class:`Table` each
figure fills, and reading dates and tables alike from SQLite (ISO text) and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, inspect

from socialcredit.errors import InvalidInput
from socialcredit.runtime.registry import Registry

I64 = npt.NDArray[np.int64]
EPOCH = dt.date(1970, 1, 1)
FIRST_YEAR = 2000


def _d(x: Any) -> int:
    """A date, or ISO text as SQLite's driver returns it, as days since 1970."""
    if isinstance(x, str):
        x = dt.date.fromisoformat(x[:10])
    if isinstance(x, dt.datetime):
        x = x.date()
    return int((x - EPOCH).days)


def _dates(values: Sequence[Any]) -> I64:
    if not values:
        return np.zeros(0, np.int64)
    if isinstance(values[0], str):
        arr = np.array([v[:10] for v in values], dtype="datetime64[D]")
    else:
        arr = np.array(values, dtype="datetime64[D]")
    out: I64 = arr.astype(np.int64)
    return out


@dataclass
class Table:
    """One table of the report: its CSV file and its place in the JSON."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns, "rows": self.rows}


@dataclass(frozen=True)
class Period:
    year: int
    first: int  # day numbers, inclusive
    last: int
    utc_offset: dt.timedelta

    @property
    def months(self) -> list[str]:
        last = EPOCH + dt.timedelta(days=self.last)
        return [f"{self.year}-{m:02d}" for m in range(1, last.month + 1)]

    def month_index(self, days: I64) -> I64:
        d = days.astype("datetime64[D]")
        out: I64 = (d.astype("datetime64[M]").astype(np.int64) - (self.year - 1970) * 12).astype(
            np.int64
        )
        return out

    def within(self, days: I64) -> npt.NDArray[np.bool_]:
        r: npt.NDArray[np.bool_] = (days >= self.first) & (days <= self.last)
        return r


def period(reg: Registry, year: int) -> Period:
    """The year asked about, checked: it must have begun; a year in progress ends today."""
    today = reg.today()
    if not isinstance(year, int) or year < FIRST_YEAR or year > today.year:
        raise InvalidInput.one(
            "year", f"must be a year from {FIRST_YEAR} to {today.year} (this year)", str(year)
        )
    last = min(dt.date(year, 12, 31), today)
    mid = dt.datetime(year, 7, 1, tzinfo=reg.tz)
    return Period(year, _d(dt.date(year, 1, 1)), _d(last), mid.utcoffset() or dt.timedelta())


def _monthly(p: Period, idx: I64, weights: I64 | None = None) -> list[int]:
    n = len(p.months)
    ok = (idx >= 0) & (idx < n)
    counts = np.bincount(idx[ok], weights=None if weights is None else weights[ok], minlength=n)
    return [int(x) for x in counts[:n]]


def distinct(x: I64) -> int:
    """How many distinct values ``x`` holds (by a sort: ``np.unique`` hashes first, and costs
    several sorts' time on numpy 2.4)."""
    if not len(x):
        return 0
    s = np.sort(x)
    return int(np.count_nonzero(s[1:] != s[:-1])) + 1


def distinct_by_month(p: Period, month: I64, subject: I64) -> list[int]:
    """How many distinct subjects each month of the period has, from (month index, subject)
    pairs: one sort of the pairs, not one ``np.unique`` per month."""
    n = len(p.months)
    ok = (month >= 0) & (month < n)
    if not ok.any():
        return [0] * n
    span = int(subject[ok].max()) + 1
    key = np.sort(month[ok] * span + subject[ok])
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return [int(x) for x in np.bincount(key[first] // span, minlength=n)[:n]]


def _param(conn: Connection, value: dt.date | dt.datetime) -> Any:
    """Dates as SQLite stores them (ISO text), native elsewhere."""
    if conn.dialect.name != "sqlite":
        return value
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()


def day_sql(conn: Connection, column: str) -> str:
    """SQL for the date ``column`` as days since 1970, computed in the database: an integer
    per row costs the driver less than a date or its text, and needs no parsing here."""
    if conn.dialect.name == "sqlite":
        return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"
    return f"({column} - DATE '1970-01-01')"


def _has(conn: Connection, table: str) -> bool:
    return bool(inspect(conn).has_table(table))
