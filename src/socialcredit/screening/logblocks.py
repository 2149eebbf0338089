"""Writing a batch manifest's block of screening-log rows (columns, see ``LogBlock``).

- SQLite: one ``INSERT … SELECT … FROM json_each(?)``: the columns with a value a row go in
  as one JSON text built from the Arrow arrays at C speed, the columns with one value for
  all are bound once. ``executemany`` of 300,000 ten-value tuples spent as long binding
  values as SQLite spent inserting them. The block's transaction runs with a larger page
  cache (the log's unique ``screening_id`` index takes random UUIDs: each insert touches a
  page anywhere in it), given back when the block is committed.
- PostgreSQL: COPY, its text built from the columns with Arrow (the rows one by one through
  psycopg's ``write_row`` when a value needs escaping: a tab, a newline, a backslash).
- Either way, one transparency-log leaf for the block, its payload built from the columns
  (``integrity.columns_range_payload``): the same bytes ``log verify`` recomputes from the
  rows read back, without reading them back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, func, select

from socialcredit.integrity import (
    append_leaves,
    columns_range_payload,
    json_column,
    log_range,
    range_ref,
)
from socialcredit.store.tables_screening import screening_log

BLOCK_CACHE_KIB = 256 * 1024  # the page cache while a block is inserted (SQLite)
_SLICE = 1 << 16  # rows joined into JSON at a time (32-bit offsets)

Row = tuple[Any, ...]

__all__ = ["block_cache", "copy_columns", "copy_rows", "insert_json", "log_block"]


def _is_array(v: Any) -> bool:
    return isinstance(v, pa.Array | pa.ChunkedArray)


@contextmanager
def block_cache(conn: Connection) -> Iterator[None]:
    """A larger SQLite page cache for the duration, outside a transaction (enter before
    ``begin``, leave after the commit); the writer's own afterwards (SQLite frees the pages
    beyond it, so the writer's memory does not keep the block's)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw: Any = conn.connection.dbapi_connection
    old = int(raw.execute("PRAGMA cache_size").fetchone()[0])
    raw.execute(f"PRAGMA cache_size=-{BLOCK_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size={old}")


def _json_rows(arrays: Sequence[Any], n: int) -> str:
    """``[[a0,b0,...],[a1,b1,...],...]`` for string arrays (JSON text each, nulls null)."""
    texts = [json_column(a, n) for a in arrays]
    if any(t is None for t in texts):
        raise TypeError("a log block's column is not an array of strings")
    parts: list[Any] = []
    for i, t in enumerate(texts):
        parts += ["[" if i == 0 else ",", t]
    parts.append("],")
    chunks = [b"["]
    for start in range(0, n, _SLICE):
        m = min(_SLICE, n - start)
        joined = pc.binary_join_element_wise(
            *[p if isinstance(p, str) else p.slice(start, m) for p in parts], ""
        )
        offsets, data = joined.buffers()[1:]
        first, last = np.frombuffer(offsets, np.int32, m + 1, joined.offset * 4)[[0, -1]]
        chunks.append(memoryview(data)[first:last].tobytes())
    body = b"".join(chunks)
    return (body[:-1] + b"]").decode() if n else "[]"


def insert_json(
    conn: Connection, table: str, names: Sequence[str], values: Mapping[str, Any], n: int
) -> None:
    """Insert ``n`` rows given as columns (``values``: a string array of ``n`` or one value
    already as the driver takes it) in column order ``names``, by one statement (SQLite)."""
    exprs: list[str] = []
    params: list[Any] = []
    arrays: list[Any] = []
    for name in names:
        v = values[name]
        if _is_array(v):
            exprs.append(f"json_extract(value, '$[{len(arrays)}]')")
            arrays.append(v)
        else:
            exprs.append("?")
            params.append(v)
    sql = (
        f"INSERT INTO {table} ({', '.join(names)}) "
        f"SELECT {', '.join(exprs)} FROM json_each(?) ORDER BY key"
    )
    conn.exec_driver_sql(sql, (*params, _json_rows(arrays, n)))


def copy_rows(conn: Connection, table: str, names: Sequence[str], rows: list[Row]) -> None:
    """``rows`` into ``table`` by PostgreSQL's COPY, in ``conn``'s transaction."""
    sql = f"COPY {table} ({', '.join(names)}) FROM STDIN"
    raw: Any = conn.connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


_COPY_ESCAPED = r"[\\\t\n\r]"  # what COPY's text format escapes


def _copy_text(v: Any) -> Any:
    """One column in COPY's text format: a text for one value, else a string array (null
    ``\\N``); ``None`` when a value would need escaping (then the rows go one by one)."""
    if not _is_array(v):
        text = "\\N" if v is None else str(v)  # (a datetime: ISO 8601 with a space)
        return None if re.search(_COPY_ESCAPED, text) else text
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks()
    v = v.cast(pa.string())
    if pc.any(pc.match_substring_regex(v, _COPY_ESCAPED)).as_py():
        return None
    return pc.fill_null(v, "\\N")


def copy_columns(
    conn: Connection, table: str, names: Sequence[str], values: Mapping[str, Any], n: int
) -> bool:
    """``n`` rows given as columns into ``table`` by COPY, the text built with Arrow (no
    Python per row); ``False``, writing nothing, when a value would need escaping."""
    parts: list[Any] = []
    for i, name in enumerate(names):
        text = _copy_text(values[name])
        if text is None:
            return False
        parts += ["\t" if i else "", text]
    parts.append("\n")
    if not any(not isinstance(p, str) for p in parts):
        parts[1] = pa.array([parts[1]] * n, pa.string())  # (a block always has an array)
    raw: Any = conn.connection.dbapi_connection
    sql = f"COPY {table} ({', '.join(names)}) FROM STDIN"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for start in range(0, n, _SLICE):
            m = min(_SLICE, n - start)
            joined = pc.binary_join_element_wise(
                *[p if isinstance(p, str) else p.slice(start, m) for p in parts], ""
            )
            offsets, data = joined.buffers()[1:]
            first, last = np.frombuffer(offsets, np.int32, m + 1, joined.offset * 4)[[0, -1]]
            copy.write(memoryview(data)[first:last])
    return True


def log_block(conn: Connection, n: int, columns: Mapping[str, Any]) -> None:
    """One ``screening_batch`` leaf for the ``n`` rows just inserted (ids ``hi-n+1..hi``:
    the log's lock, taken before the insert, keeps other writers' ids out of the range),
    from ``columns`` (``at`` datetimes) rather than from the rows read back.

    A leaf per screening measured no cheaper to write and 32 bytes a screening of leaf
    hashes for ever (decisions.md); a batch leaf covers the rows' payloads, so ``log
    verify`` recomputes it from the rows and names the batch whose rows were edited."""
    if not n:
        return
    hi = int(conn.execute(select(func.max(screening_log.c.id))).scalar_one())
    lo = hi - n + 1
    payload = columns_range_payload("screening_batch", lo, n, columns)
    if payload is None:  # an Arrow column of another type: read the rows back
        log_range(conn, "screening_batch", lo, hi)
    else:
        append_leaves(conn, "screening_batch", [range_ref(lo, hi)], [payload])
