"""The log in the database: appending leaves inside the caller's transaction, and the tree
read back from ``log_leaves`` and ``log_nodes`` for roots and proofs.

Appends are serialised like every other write of the registry: on SQLite the writing
transaction already holds the database lock (BEGIN IMMEDIATE); on PostgreSQL
:func:`append_leaves` takes a transaction-level advisory lock. Callers that take other
advisory locks (ingest, audit) take them first and this one last, so no two writers wait on
each other in opposite orders. Everything :func:`append_leaves` writes is part of the
caller's transaction: a rollback leaves no leaf, a commit leaves the leaf and its row.

Only subtrees of ``2**STORED_LEVEL`` leaves or more are stored; smaller ones are hashed from
at most ``2**STORED_LEVEL`` consecutive leaf hashes, read with one range scan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select

from socialcredit.errors import InvalidInput
from socialcredit.integrity import merkle
from socialcredit.store.sql_ingest import copy_rows, is_pg, stamp, values_insert
from socialcredit.store.tables_integrity import log_leaves, log_nodes

STORED_LEVEL = 8
LOG_LOCK_KEY = 0x5C_10_67_EE  # pg_advisory_xact_lock key serialising appends and heads
LEAF_COLS = ("idx", "kind", "ref", "hash", "at")
H = merkle.HASH_SIZE


class LogCorrupt(RuntimeError):
    """The stored leaves or subtrees are missing where the tree needs them."""


def lock(conn: Connection) -> None:
    """Serialise with other appenders (SQLite: the transaction's own write lock suffices)."""
    if is_pg(conn):
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOG_LOCK_KEY})")


def tree_size(conn: Connection) -> int:
    """The number of leaves (one index descent: leaf indexes run 0 .. n-1)."""
    top = conn.execute(select(func.max(log_leaves.c.idx))).scalar_one()
    return 0 if top is None else int(top) + 1


def append_leaves(
    conn: Connection,
    kind: str,
    refs: Sequence[str | int],
    payloads: Sequence[bytes],
    *,
    at: dt.datetime | None = None,
) -> range:
    """Append one leaf per payload, in order, inside the caller's writing transaction.

    ``payloads[i]`` is the canonical encoding of the row ``(kind, refs[i])`` stands for (see
    :func:`socialcredit.integrity.leaves.leaf_payload`). Leaf hashes are computed for the
    whole batch, the leaves go in with multi-row inserts (COPY on PostgreSQL), and the
    subtrees the batch completes are stored. Returns the leaf indexes given.
    """
    if len(refs) != len(payloads):
        raise ValueError(f"{len(refs)} refs for {len(payloads)} payloads")
    return append_hashes(conn, kind, refs, merkle.leaf_hashes(payloads), at=at)


def append_hashes(
    conn: Connection,
    kind: str,
    refs: Sequence[str | int],
    hashes: Sequence[bytes],
    *,
    at: dt.datetime | None = None,
) -> range:
    """:func:`append_leaves` with the leaf hashes already computed."""
    n = len(hashes)
    lock(conn)
    n0 = tree_size(conn)
    if not n:
        return range(n0, n0)
    when = stamp((at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None))
    ids = list(range(n0, n0 + n))
    ref_text = [str(r) for r in refs]
    if is_pg(conn):
        rows = zip(ids, [kind] * n, ref_text, hashes, [when] * n, strict=True)
        copy_rows(conn, "log_leaves", LEAF_COLS, rows)
    else:
        cols: list[list[Any]] = [ids, [kind] * n, ref_text, list(hashes), [when] * n]
        values_insert(conn.connection.driver_connection, "log_leaves", LEAF_COLS, cols)
    store_subtrees(conn, n0, n0 + n, b"".join(hashes))
    return range(n0, n0 + n)


def store_subtrees(conn: Connection, n0: int, n1: int, new: bytes | None = None) -> int:
    """Store the subtrees of ``2**STORED_LEVEL`` leaves or more that leaves ``n0 .. n1-1``
    complete. ``new`` holds those leaves' hashes if the caller has them (else they are read).
    Returns the number of rows written."""
    s = STORED_LEVEL
    first, end = n0 >> s, n1 >> s  # blocks of 2**s leaves completed: [first, end)
    if end <= first:
        return 0
    lo_leaf = first << s
    if new is None:
        buf = _leaf_bytes(conn, lo_leaf, end << s)
    else:
        buf = (_leaf_bytes(conn, lo_leaf, n0) if lo_leaf < n0 else b"") + new
    cur = buf[: ((end - first) << s) * H]
    for _ in range(s):
        cur = merkle.parent_level(cur)
    rows: list[dict[str, object]] = []
    level, lo, hi = s, first, end
    while True:
        rows.extend(
            {"level": level, "idx": lo + j, "hash": cur[j * H : (j + 1) * H]}
            for j in range(hi - lo)
        )
        plo, phi = lo >> 1, hi >> 1
        if phi <= plo:
            break
        if lo & 1:  # the new node's left sibling was stored by an earlier append
            cur = node_hashes(conn, [(level, lo - 1)])[0] + cur
            lo -= 1
        cur = merkle.parent_level(cur[: (2 * phi - lo) * H])
        level, lo, hi = level + 1, plo, phi
    for i in range(0, len(rows), 10_000):
        conn.execute(insert(log_nodes), rows[i : i + 10_000])
    return len(rows)


def _leaf_bytes(conn: Connection, lo: int, hi: int) -> bytes:
    c = log_leaves.c
    q = select(c.hash).where(c.idx >= lo, c.idx < hi).order_by(c.idx)
    got = [bytes(h) for (h,) in conn.execute(q)]
    if len(got) != hi - lo:
        raise LogCorrupt(f"leaves {lo}..{hi - 1}: {hi - lo - len(got)} missing")
    return b"".join(got)


def node_hashes(conn: Connection, keys: Sequence[tuple[int, int]]) -> list[bytes]:
    """A :data:`merkle.NodeSource` over the database: the hash of each perfect subtree."""
    s = STORED_LEVEL
    found: dict[tuple[int, int], bytes] = {}
    low = sorted({(lv, i) for lv, i in keys if lv < s}, key=lambda k: k[1] << k[0])
    # leaf spans, merged when close: a proof's small subtrees sit in one or two blocks
    spans: list[list[int]] = []
    for lv, i in low:
        a, b = i << lv, (i + 1) << lv
        if spans and a - spans[-1][1] <= 1 << s:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    for a, b in spans:
        buf = _leaf_bytes(conn, a, b)
        for lv, i in low:
            lo = i << lv
            if a <= lo < b:
                off = (lo - a) * H
                found[(lv, i)] = merkle.perfect_root(buf[off : off + (H << lv)])
    high = [(lv, i) for lv, i in keys if lv >= s]
    c = log_nodes.c
    for k in range(0, len(high), 200):
        part = high[k : k + 200]
        cond = or_(*(and_(c.level == lv, c.idx == i) for lv, i in part))
        for lv, i, h in conn.execute(select(c.level, c.idx, c.hash).where(cond)):
            found[(int(lv), int(i))] = bytes(h)
    missing = [k for k in keys if k not in found]
    if missing:
        raise LogCorrupt(f"stored subtrees missing: {missing[:5]}")
    return [found[k] for k in keys]


def _check_size(conn: Connection, size: int, name: str) -> None:
    n = tree_size(conn)
    if not 0 <= size <= n:
        raise InvalidInput.one(name, f"must be between 0 and the tree size {n}", str(size))


def root_at(conn: Connection, size: int) -> bytes:
    """The root hash of the tree over the first ``size`` leaves."""
    _check_size(conn, size, "size")
    return merkle.fold(node_hashes(conn, merkle.pieces(0, size)))


def leaf_hash_at(conn: Connection, index: int) -> bytes:
    return _leaf_bytes(conn, index, index + 1)


def inclusion_proof(conn: Connection, index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of the first ``size`` leaves."""
    _check_size(conn, size, "size")
    if not 0 <= index < size:
        raise InvalidInput.one("leaf", f"must be below the tree size {size}", str(index))
    return merkle.range_hashes(merkle.inclusion_ranges(index, size), lambda k: node_hashes(conn, k))


def consistency_proof(conn: Connection, first: int, second: int) -> list[bytes]:
    """RFC 9162 consistency proof that tree ``second`` extends tree ``first``."""
    _check_size(conn, second, "second")
    if not 0 <= first <= second:
        raise InvalidInput.one("first", f"must be between 0 and second ({second})", str(first))
    return merkle.range_hashes(
        merkle.consistency_ranges(first, second), lambda k: node_hashes(conn, k)
    )
