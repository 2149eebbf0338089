"""What a leaf commits to: the canonical byte encoding of one row, and reading it back.

A leaf's payload is ``kind`` in UTF-8, a newline, then the row as canonical JSON: keys
sorted, no spaces, UTF-8 (not ``\\u`` escapes), dates and times in ISO 8601, decimals as their
exact text, bytes as hex. A verifier holding the row recomputes the same bytes, so the leaf
hash names the row's content exactly; it does not depend on the backend (SQLite returns a
date as text in raw queries, PostgreSQL as a date: both encode the same).

:data:`KIND_TABLES` maps each kind of logged row to its table and key column, which is how
``log verify`` reads the current rows back (:class:`TableRows`). Integrations that log a new
kind of row add it there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Column, Connection, Table, select

from socialcredit.store import tables as t
from socialcredit.store import tables_dueprocess as tdp
from socialcredit.store import tables_scoring as tscore
from socialcredit.store import tables_screening as tsc

_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


_CENT = Decimal("0.01")


def _decimal(v: Decimal) -> str:
    """Money is NUMERIC(20, 2) on PostgreSQL (12.50 read back) and the text as given on
    SQLite (12.5, or 0012): a value with at most two places is written with exactly two,
    so both backends give the same bytes. Anything finer keeps its own text."""
    try:
        q = v.quantize(_CENT)
    except ArithmeticError:
        return str(v)
    return str(q) if q == v else str(v)


def _default(v: Any) -> Any:
    if isinstance(v, Decimal):
        return _decimal(v)
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).hex()
    raise TypeError(f"cannot encode {type(v).__name__} in a leaf payload")


def _norm(v: Any) -> Any:
    # datetimes are stored naive UTC; an aware one is brought to that form first
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC).replace(tzinfo=None)
    return v


def leaf_payload(kind: str, row: Mapping[str, Any]) -> bytes:
    """The canonical payload of ``row`` (column name -> value) logged as ``kind``."""
    body = orjson.dumps({k: _norm(v) for k, v in row.items()}, default=_default, option=_OPTS)
    return kind.encode() + b"\n" + body


def _norm_column(col: Sequence[Any]) -> Sequence[Any]:
    # only a column holding datetimes needs each value looked at (types found at C speed)
    return [_norm(v) for v in col] if dt.datetime in set(map(type, col)) else col


def leaf_payloads(kind: str, columns: Mapping[str, Sequence[Any]]) -> list[bytes]:
    """:func:`leaf_payload` for a batch given as equally long columns (bulk ingest).

    One dict and one orjson call per row: encoding column by column (each distinct value
    once, then a join per row) measured 1.4x slower, the Python loop over values costing
    more than orjson over a dict.
    """
    names = sorted(columns)
    prefix = kind.encode() + b"\n"
    dumps = orjson.dumps
    cols = [_norm_column(columns[k]) for k in names]
    return [
        prefix + dumps(dict(zip(names, vals, strict=True)), default=_default, option=_OPTS)
        for vals in zip(*cols, strict=True)
    ]


# kind -> (table, key column). The kinds the registry logs; see the module docstring.
KIND_TABLES: dict[str, tuple[Table, str]] = {
    "record": (t.records, "id"),
    "record_event": (t.record_events, "id"),
    "subject": (t.subjects, "id"),
    "authority": (t.authorities, "code"),
    "batch": (t.batches, "id"),
    "case": (tdp.cases, "id"),
    "notice": (tdp.notices, "id"),
    "reviewer": (tdp.reviewers, "id"),
    "audit": (tdp.audit_log, "seq"),
    "relying_party": (tsc.relying_parties, "code"),
    "api_key": (tsc.api_keys, "id"),
    "scoring_switch": (tscore.scoring_switches, "id"),
    "calendar_year": (t.calendar_years, "year"),
}


# kind -> the columns a leaf commits to, where not the whole row: a notice's delivery
# machinery (lease, attempts, retry time, last error) changes on every claim and retry and is
# not part of what the registry told the subject; its status and sent/delivered times are.
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "notice": tuple(
        c.name
        for c in tdp.notices.columns
        if c.name not in {"attempts", "next_attempt_at", "claimed_by", "claimed_until"}
        and c.name != "last_error"
    ),
}


def logged_columns(kind: str, table: Table) -> list[Column[Any]]:
    """The columns of ``table`` a leaf of ``kind`` commits to."""
    names = KIND_COLUMNS.get(kind)
    return list(table.columns) if names is None else [table.c[n] for n in names]


# kind -> (table, key column, row kind): a leaf standing for the rows with keys ``lo..hi``
# (ref "lo-hi"), for reads logged by the thousand a second (screenings). Its payload is the
# range, the row count and a SHA-256 over the rows' own payloads (as ``row kind``) in key
# order, so ``log verify`` recomputes it from the rows as it does a single row's.
RANGE_KINDS: dict[str, tuple[Table, str, str]] = {
    "screening_batch": (tsc.screening_log, "id", "screening"),
    "calendar_days": (t.calendar_days, "year", "calendar_day"),
}


def range_ref(lo: int, hi: int) -> str:
    return f"{lo}-{hi}"


def range_payload(conn: Connection, kind: str, lo: int, hi: int) -> bytes:
    """The payload of the leaf standing for rows ``lo..hi`` (inclusive) of ``kind``."""
    table, key, row_kind = RANGE_KINDS[kind]
    col = _key(table, key)
    h = hashlib.sha256()
    n = 0
    q = select(table).where(col >= lo, col <= hi).order_by(col, *table.primary_key.columns)
    for row in conn.execute(q.execution_options(yield_per=10_000)):  # not the connection's
        h.update(leaf_payload(row_kind, dict(row._mapping)))
        h.update(b"\n")
        n += 1
    return leaf_payload(kind, {"first": lo, "last": hi, "rows": n, "sha256": h.hexdigest()})


_ESCAPED = r'[\x00-\x1f"\\]'  # what JSON (and orjson) escapes in a string; the rest is as is
_SLICE = 1 << 16  # rows joined at a time (a string array's offsets are 32-bit)


def _text(s: str) -> Any:
    """``s`` as an Arrow string scalar. Compute functions given a Python ``str`` infer its
    type, and pyarrow's inference tries ``import dateutil.relativedelta`` every time: without
    dateutil installed, a failed import searched along sys.path, ~60 us a call and 2.5 ms of
    a screening log batch's commit (the same bytes either way)."""
    return pa.scalar(s, pa.string())


_QUOTE, _EMPTY, _NULL = _text('"'), _text(""), _text("null")


def _dumps(v: Any) -> str:
    return orjson.dumps(_norm(v), default=_default, option=_OPTS).decode()


def json_column(v: Any, n: int) -> Any:
    """A column's values as a leaf's payload writes them (orjson): one text for a single
    value, else a string array of JSON texts (nulls ``null``). ``v`` is one value, a
    pyarrow string array, or a list of strings (or ``None``) or of datetimes; ``None`` for
    a column of another type (whose value as read back may differ: ``5`` in a text column
    is ``"5"``)."""
    if isinstance(v, list):
        if len(v) != n:
            raise ValueError(f"a column of {len(v)} values in a block of {n} rows")
        types = set(map(type, v))  # (found at C speed)
        if types <= {str, type(None)}:
            v = pa.array(v, pa.string())
        elif types <= {dt.datetime}:  # as read back; anything else is read back
            return pa.array([_dumps(x) for x in v], pa.string())
        else:
            return None
    if not isinstance(v, pa.Array | pa.ChunkedArray):
        return _dumps(v)
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks()
    if len(v) != n:
        raise ValueError(f"a column of {len(v)} values in a block of {n} rows")
    if not (pa.types.is_string(v.type) or pa.types.is_large_string(v.type)):
        if not (pa.types.is_dictionary(v.type) and pa.types.is_string(v.type.value_type)):
            return None
        v = v.cast(pa.string())
    if pc.any(pc.match_substring_regex(v, _ESCAPED)).as_py():  # rare: orjson per value
        return pa.array([orjson.dumps(x).decode() for x in v.to_pylist()], pa.string())
    return pc.fill_null(pc.binary_join_element_wise(_QUOTE, v, _QUOTE, _EMPTY), _NULL)


def columns_range_payload(kind: str, lo: int, n: int, columns: Mapping[str, Any]) -> bytes | None:
    """:func:`range_payload` for rows ``lo..lo+n-1`` not read back but given as the columns
    they were inserted from (keyed ``lo``, ``lo+1``... in order): each a pyarrow string
    array or a list of ``n`` values, or one value for all. The same bytes, built a column at a time
    (joins at C speed) and hashed once; ``None`` when a column is of another type (then
    read the rows back)."""
    table, key, row_kind = RANGE_KINDS[kind]
    names = sorted({*columns, key})
    if set(names) != {c.name for c in table.columns}:
        raise ValueError(f"columns {names} are not those of {table.name}")
    parts: list[Any] = []
    for i, name in enumerate(names):
        head = ("" if i else f"{row_kind}\n{{") + ("," if i else "") + f'"{name}":'
        if name == key:
            value: Any = pa.array(np.arange(lo, lo + n, dtype=np.int64)).cast(pa.string())
        else:
            value = json_column(columns[name], n)
            if value is None:
                return None
            if isinstance(value, str):
                value = _text(value)
        parts += [_text(head), value]
    parts.append(_text("}\n"))
    h = hashlib.sha256()
    for start in range(0, n, _SLICE):  # (the key is always an array: so is each join)
        m = min(_SLICE, n - start)
        args = [p if isinstance(p, pa.Scalar) else p.slice(start, m) for p in parts]
        joined = pc.binary_join_element_wise(*args, _EMPTY)
        offsets, data = joined.buffers()[1:]
        first, last = np.frombuffer(offsets, np.int32, m + 1, joined.offset * 4)[[0, -1]]
        h.update(memoryview(data)[first:last])
    return leaf_payload(kind, {"first": lo, "last": lo + n - 1, "rows": n, "sha256": h.hexdigest()})


def _key(table: Table, name: str) -> Column[Any]:
    col: Column[Any] = table.c[name]
    return col


def _typed(col: Column[Any], ref: str) -> Any:
    try:
        return int(ref) if col.type.python_type is int else ref
    except (NotImplementedError, ValueError):
        return ref


class TableRows:
    """Current payloads of logged rows, read from their tables: ``log verify``'s recompute.

    Callable per leaf (``rows(kind, ref)``) and in batches (``rows.many(kind, refs)``);
    ``None`` or a missing key means the row is gone.
    """

    def __init__(self, conn: Connection, kinds: Mapping[str, tuple[Table, str]] = KIND_TABLES):
        self.conn = conn
        self.kinds = kinds

    def __call__(self, kind: str, ref: str) -> bytes | None:
        return self.many(kind, [ref]).get(ref)

    def many(self, kind: str, refs: Sequence[str]) -> dict[str, bytes]:
        if kind in RANGE_KINDS:
            out: dict[str, bytes] = {}
            for ref in refs:
                lo, _, hi = ref.partition("-")
                if lo.isdigit() and hi.isdigit():
                    out[ref] = range_payload(self.conn, kind, int(lo), int(hi))
            return out
        if kind not in self.kinds:
            return {}
        table, key = self.kinds[kind]
        col = _key(table, key)
        out = {}
        for i in range(0, len(refs), 500):
            part = [_typed(col, r) for r in refs[i : i + 500]]
            q = select(*logged_columns(kind, table)).where(col.in_(part))
            for row in self.conn.execute(q):
                m = dict(row._mapping)
                out[str(m[key])] = leaf_payload(kind, m)
        return out
