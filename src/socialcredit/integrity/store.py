"""The log in the database: appending leaves inside the caller's transaction, and the tree
read back from ``log_leaves`` and ``log_nodes`` for roots and proofs.

Appends are serialised like every other write of the registry: on SQLite the writing
transaction already holds the database lock (BEGIN IMMEDIATE); on PostgreSQL
:func:`append_leaves` takes a transaction-level advisory lock. Callers that take other
advisory locks (ingest, audit) take them first and this one last, so no two writers wait on
each other in opposite orders. Everything :func:`append_leaves` writes is part of the
caller's transaction: a rollback leaves no leaf, a commit leaves the leaf and its row.

Leaf hashes live 256 to a row in ``log_tiles``; what each leaf stands for lives in
``log_leaves`` as runs (see ``store/tables_integrity.py``). Only subtrees of
``2**STORED_LEVEL`` leaves or more are stored; smaller ones are hashed from one tile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from socialcredit.errors import InvalidInput
from socialcredit.integrity import merkle
from socialcredit.integrity.leaves import TableRows, range_payload, range_ref
from socialcredit.store.sql_bulk import is_pg
from socialcredit.store.tables_integrity import log_leaves, log_tiles

STORED_LEVEL = 8
LOG_LOCK_KEY = 0x5C_10_67_EE  # pg_advisory_xact_lock key serialising appends and heads
H = merkle.HASH_SIZE
TILE = 1 << STORED_LEVEL  # leaf hashes per log_tiles row


class LogCorrupt(RuntimeError):
    """The stored leaves or subtrees are missing where the tree needs them."""


def _sql(conn: Connection, sql: str, params: tuple[Any, ...]) -> Any:
    """A driver-level query (``?`` marks): proofs run a few small queries each, and building
    SQLAlchemy expressions for them cost more than the queries did (measured: ~70%)."""
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    return conn.exec_driver_sql(sql, params)


def lock(conn: Connection) -> None:
    """Serialise with other appenders (SQLite: the transaction's own write lock suffices)."""
    if is_pg(conn):
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOG_LOCK_KEY})")


def tree_size(conn: Connection) -> int:
    """The number of leaves: the end of the last run (one index descent)."""
    c = log_leaves.c
    last = conn.execute(select(c.idx, c.length).order_by(c.idx.desc()).limit(1)).first()
    return 0 if last is None else int(last.idx) + int(last.length)


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
    whole batch; refs that are consecutive integers are stored as one run, the hashes 256 to
    a row; the subtrees the batch completes are stored. Returns the leaf indexes given.
    """
    if len(refs) != len(payloads):
        raise ValueError(f"{len(refs)} refs for {len(payloads)} payloads")
    return append_hashes(conn, kind, refs, merkle.leaf_hashes(payloads), at=at)


def log_rows(
    conn: Connection, kind: str, refs: Sequence[str | int], *, at: dt.datetime | None = None
) -> range:
    """Log the rows ``(kind, ref)`` as they stand now in this transaction: one leaf each.

    For writes made a row or a few at a time (a case filed or decided, a notice sent, a key
    revoked): the payload is read back exactly as ``log verify`` will read it, so the two
    cannot drift. Call it after every change to a logged row: a row is checked against its
    newest leaf. A ref with no row is an error (the caller logs what it just wrote).
    """
    if not refs:
        return range(tree_size(conn), tree_size(conn))
    got = TableRows(conn).many(kind, [str(r) for r in refs])
    missing = [r for r in refs if str(r) not in got]
    if missing:
        raise LogCorrupt(f"cannot log {kind} {missing[:5]}: no such row")
    return append_leaves(conn, kind, refs, [got[str(r)] for r in refs], at=at)


def log_range(
    conn: Connection, kind: str, lo: int, hi: int, *, at: dt.datetime | None = None
) -> range:
    """One leaf for rows ``lo..hi`` (inclusive) of a range kind (``leaves.RANGE_KINDS``),
    as they stand in this transaction."""
    return append_leaves(
        conn, kind, [range_ref(lo, hi)], [range_payload(conn, kind, lo, hi)], at=at
    )


def _as_int(r: str | int) -> int | None:
    if isinstance(r, int) and not isinstance(r, bool):
        return r
    if isinstance(r, str) and r.isdigit() and str(int(r)) == r:
        return int(r)
    return None


def _runs(first: int, refs: Sequence[str | int]) -> list[tuple[int, int, str, int | None]]:
    """(first leaf, count, ref text, ref number) for each run of consecutive integer refs."""
    n = len(refs)
    if isinstance(refs, range) and refs.step == 1 and n:
        return [(first, n, str(refs[0]), refs[0])]  # a bulk batch's ids
    a = _as_int(refs[0]) if n else None
    if a is not None and isinstance(refs[0], int) and list(refs) == list(range(a, a + n)):
        return [(first, n, str(a), a)]  # consecutive ids in a list: checked at C speed
    out: list[tuple[int, int, str, int | None]] = []
    start = 0
    while start < n:
        num = _as_int(refs[start])
        end = start + 1
        if num is not None:
            while end < n and _as_int(refs[end]) == num + end - start:
                end += 1
        out.append((first + start, end - start, str(refs[start]), num))
        start = end
    return out


def block_roots(start: int, hashes: bytes) -> dict[int, bytes]:
    """The stored-level subtree roots (``2**STORED_LEVEL`` leaves each) of the whole aligned
    blocks inside leaves ``start ..`` whose hashes are ``hashes``, by block index: what a
    worker that hashed part of a batch can work out ahead for :func:`append_hashes`."""
    n = len(hashes) // H
    b0, b1 = -(-start // TILE), (start + n) // TILE
    if b1 <= b0:
        return {}
    lo = (b0 * TILE - start) * H
    roots = merkle.subtree_roots(hashes[lo : lo + (b1 - b0) * TILE * H], STORED_LEVEL)
    return {b0 + j: roots[j * H : (j + 1) * H] for j in range(b1 - b0)}


def append_hashes(
    conn: Connection,
    kind: str,
    refs: Sequence[str | int],
    hashes: Sequence[bytes] | bytes,
    *,
    at: dt.datetime | None = None,
    roots: tuple[int, Mapping[int, bytes]] | None = None,
) -> range:
    """:func:`append_leaves` with the leaf hashes already computed (e.g. by the forked
    workers that build a bulk batch), as a list or concatenated in one ``bytes``.

    ``roots`` is ``(start, by block)``: :func:`block_roots` of these hashes had they been
    appended from leaf ``start``. They are used only if the log is ``start`` leaves long,
    so the blocks the append completes are hashed once, where the leaves were."""
    if isinstance(hashes, bytes):
        if len(hashes) % H:
            raise ValueError(f"{len(hashes)} bytes is not a whole number of leaf hashes")
        n, new = len(hashes) // H, hashes
    else:
        n, new = len(hashes), b"".join(hashes)
    if len(refs) != n:
        raise ValueError(f"{len(refs)} refs for {n} hashes")
    lock(conn)
    n0 = tree_size(conn)
    if not n:
        return range(n0, n0)
    when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
    runs = [
        {"idx": i, "length": k, "kind": kind, "ref": ref, "ref_num": num, "at": when}
        for i, k, ref, num in _runs(n0, refs)
    ]
    for i in range(0, len(runs), 10_000):
        conn.execute(insert(log_leaves), runs[i : i + 10_000])
    _write_tiles(conn, n0, new)
    known = roots[1] if roots is not None and roots[0] == n0 else {}
    store_subtrees(conn, n0, n0 + n, new, known)
    return range(n0, n0 + n)


def _write_tiles(conn: Connection, n0: int, new: bytes) -> None:
    first = n0 // TILE
    if n0 % TILE:  # the partial last tile grows: rewrite it
        old = conn.execute(select(log_tiles.c.hashes).where(log_tiles.c.idx == first)).scalar()
        if old is None or len(old) != (n0 % TILE) * H:
            raise LogCorrupt(f"tile {first} is missing or not {n0 % TILE} hashes long")
        conn.execute(delete(log_tiles).where(log_tiles.c.idx == first))
        new = bytes(old) + new
    step = TILE * H
    rows = [(first + k, new[o : o + step]) for k, o in enumerate(range(0, len(new), step))]
    _insert_many(conn, "log_tiles (idx, hashes)", rows)  # tables_integrity.log_tiles


def _insert_many(conn: Connection, into: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows inserted by the driver, a few thousand a call: a bulk batch writes thousands of
    tiles and subtrees, and SQLAlchemy's processing of each row's parameters cost as much as
    the inserts did."""
    if not rows:
        return
    marks = ", ".join("?" * len(rows[0]))
    sql = f"INSERT INTO {into} VALUES ({marks})"
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    for i in range(0, len(rows), 5_000):
        conn.exec_driver_sql(sql, list(rows[i : i + 5_000]))


def store_subtrees(
    conn: Connection,
    n0: int,
    n1: int,
    new: bytes | None = None,
    known: Mapping[int, bytes] | None = None,
) -> int:
    """Store the subtrees of ``2**STORED_LEVEL`` leaves or more that leaves ``n0 .. n1-1``
    complete. ``new`` holds those leaves' hashes if the caller has them (else they are read);
    ``known`` the roots of some of the blocks, by block index (:func:`block_roots`).
    Returns the number of rows written."""
    s = STORED_LEVEL
    first, end = n0 >> s, n1 >> s  # blocks of 2**s leaves completed: [first, end)
    if end <= first:
        return 0
    known = known or {}
    lo_leaf = first << s
    if new is None:
        buf = leaf_bytes(conn, lo_leaf, end << s)
    else:
        buf = (leaf_bytes(conn, lo_leaf, n0) if lo_leaf < n0 else b"") + new
    parts: list[bytes] = []
    b = first
    while b < end:  # each run of blocks without a known root hashed in one go
        if b in known:
            parts.append(known[b])
            b += 1
            continue
        e = b + 1
        while e < end and e not in known:
            e += 1
        parts.append(merkle.subtree_roots(buf[((b - first) << s) * H : ((e - first) << s) * H], s))
        b = e
    cur = b"".join(parts)
    rows: list[tuple[int, int, bytes]] = []
    level, lo, hi = s, first, end
    while True:
        rows.extend((level, lo + j, cur[j * H : (j + 1) * H]) for j in range(hi - lo))
        plo, phi = lo >> 1, hi >> 1
        if phi <= plo:
            break
        if lo & 1:  # the new node's left sibling was stored by an earlier append
            cur = node_hashes(conn, [(level, lo - 1)])[0] + cur
            lo -= 1
        cur = merkle.parent_level(cur[: (2 * phi - lo) * H])
        level, lo, hi = level + 1, plo, phi
    _insert_many(conn, "log_nodes (level, idx, hash)", rows)  # tables_integrity.log_nodes
    return len(rows)


def leaf_bytes(conn: Connection, lo: int, hi: int) -> bytes:
    """Leaf hashes ``lo .. hi-1`` concatenated, from the tiles that hold them."""
    if hi <= lo:
        return b""
    tiles = _sql(
        conn,
        "SELECT idx, hashes FROM log_tiles WHERE idx >= ? AND idx <= ? ORDER BY idx",
        (lo // TILE, (hi - 1) // TILE),
    ).all()
    t0 = lo // TILE
    if [int(t.idx) for t in tiles] != list(range(t0, (hi - 1) // TILE + 1)):
        raise LogCorrupt(f"leaf hashes {lo}..{hi - 1}: a tile is missing")
    buf = b"".join(bytes(t.hashes) for t in tiles)
    out = buf[(lo - t0 * TILE) * H : (hi - t0 * TILE) * H]
    if len(out) != (hi - lo) * H:
        raise LogCorrupt(f"leaf hashes {lo}..{hi - 1}: a tile is short")
    return out


def entries(conn: Connection, lo: int, hi: int) -> list[tuple[int, str, str]]:
    """(leaf index, kind, ref) of leaves ``lo .. hi-1``, from the runs covering them."""
    c = log_leaves.c
    first = conn.execute(select(c.idx).where(c.idx <= lo).order_by(c.idx.desc()).limit(1))
    start = first.scalar()
    q = select(c.idx, c.length, c.kind, c.ref, c.ref_num).where(c.idx < hi)
    if start is not None:
        q = q.where(c.idx >= start)
    out: list[tuple[int, str, str]] = []
    for r in conn.execute(q.order_by(c.idx)):
        i0, k = int(r.idx), int(r.length)
        for j in range(max(lo, i0), min(hi, i0 + k)):
            ref = str(r.ref) if k == 1 else str(int(r.ref_num) + j - i0)
            out.append((j, str(r.kind), ref))
    return out


def leaf_index(conn: Connection, kind: str, ref: str | int) -> int | None:
    """The newest leaf standing for the row ``(kind, ref)``, if it was logged."""
    c = log_leaves.c
    best: int | None = None
    text = str(ref)
    row = conn.execute(
        select(c.idx).where(c.kind == kind, c.ref == text).order_by(c.idx.desc()).limit(1)
    ).first()
    if row is not None:
        best = int(row.idx)
    if text.isdigit():
        num = int(text)
        for r in conn.execute(
            select(c.idx, c.length, c.ref_num)
            .where(c.kind == kind, c.ref_num <= num, c.length > 1)
            .order_by(c.ref_num.desc(), c.idx.desc())
            .limit(50)
        ):
            if int(r.ref_num) + int(r.length) > num:
                j = int(r.idx) + num - int(r.ref_num)
                best = j if best is None else max(best, j)
    return best


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
        buf = leaf_bytes(conn, a, b)
        for lv, i in low:
            lo = i << lv
            if a <= lo < b:
                off = (lo - a) * H
                found[(lv, i)] = merkle.perfect_root(buf[off : off + (H << lv)])
    high = [(lv, i) for lv, i in keys if lv >= s]
    for k in range(0, len(high), 100):
        part = high[k : k + 100]
        cond = " OR ".join(["(level = ? AND idx = ?)"] * len(part))
        flat = tuple(x for key in part for x in key)
        for lv, i, h in _sql(conn, f"SELECT level, idx, hash FROM log_nodes WHERE {cond}", flat):
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
    return leaf_bytes(conn, index, index + 1)


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
