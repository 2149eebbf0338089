"""The report's record figures a part of the subjects at a time, so memory stays flat.

The listing figures follow each subject's records and events, so they were computed over
every record at once: columns of the whole registry in memory, which grew with every year
kept (7.9 GB for a national year). Every one of those figures is a count or a sum over
subjects, and no subject's figure depends on another's, so the subjects are cut into parts
by two digits of their identifier (``substr(subject_id, 15, 2)``: the first two of a
resident ID's sequence code, spread evenly) and each part is read and counted on its own;
the parts' tables and totals are then added up. The records are read by one scan of the
table and cut into the parts on disk (``record_parts.py``), so memory is that of a part:
about :data:`ROWS_PER_PART` records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from socialcredit.reports.period import Table

ROWS_PER_PART = 1_500_000  # records read at once (~400 MB of columns and work arrays)
MAX_PARTS = 100  # two digits


@dataclass(frozen=True)
class Part:
    """Subjects whose ``substr(subject_id, 15, 2)`` is in [lo, hi) (None: unbounded)."""

    lo: str | None = None
    hi: str | None = None
    params: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def whole(self) -> bool:
        return self.lo is None and self.hi is None

    def sql(self, column: str, mark: str | None = None) -> str:
        """`` AND ...`` restricting ``column`` to this part, with named parameters
        (:attr:`params`) or, given ``mark``, positional ones in the order of ``params``."""
        key = f"substr({column}, 15, 2)"
        out = ""
        for name, op in (("part_lo", ">="), ("part_hi", "<")):
            if name in self.params:
                out += f" AND {key} {op} {mark or ':' + name}"
        return out


ALL = Part()


def part(lo: str | None, hi: str | None) -> Part:
    params = {k: v for k, v in (("part_lo", lo), ("part_hi", hi)) if v is not None}
    return Part(lo, hi, params)


def parts(conn: Connection) -> list[Part]:
    """Enough parts that each holds about :data:`ROWS_PER_PART` records."""
    top = conn.exec_driver_sql("SELECT max(id) FROM records").scalar()
    # max(id) bounds the record count from above (ids are shared with events) in one
    # B-tree descent, where count(*) reads the whole table.
    n = min(MAX_PARTS, max(1, -(-int(top or 0) // ROWS_PER_PART)))
    if n == 1:
        return [ALL]
    bounds: list[str | None] = [None, *(f"{100 * i // n:02d}" for i in range(1, n)), None]
    return [part(bounds[i], bounds[i + 1]) for i in range(n)]


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, dict):
        return {k: _add(a[k], b[k]) for k in a}
    if isinstance(a, list):
        return [_add(x, y) for x, y in zip(a, b, strict=True)]
    if isinstance(a, str):  # an amount, formatted to the cent
        return f"{Decimal(a) + Decimal(b):.2f}"
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if a == b:
        return a
    raise ValueError(f"cannot add {a!r} and {b!r}")


def add_totals(totals: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Totals of the parts added up, key by key (amounts stay formatted to the cent)."""
    out = totals[0]
    for t in totals[1:]:
        out = _add(out, t)
    return out


def add_tables(tables: Sequence[Table], keys: int) -> Table:
    """The parts' tables with the rows of one key (the first ``keys`` columns) added up,
    sorted by key as each figure sorts its rows."""
    first = tables[0]
    rows: dict[tuple[Any, ...], list[Any]] = {}
    for t in tables:
        for row in t.rows:
            k = tuple(row[:keys])
            got = rows.get(k)
            rows[k] = list(row) if got is None else [*k, *_add(got[keys:], row[keys:])]
    out = Table(first.name, first.title, first.columns)
    out.rows = [rows[k] for k in sorted(rows)]
    return out
