"""Checking the log from its rows: ``log verify``.

Streams the leaves in index order and, in one pass:

- finds leaf indexes missing from the middle (rows deleted out of ``log_leaves``);
- recomputes the tree and checks every stored head against it: its signature (given the
  published verifier key), and that its root is the root of the leaves it covers; a head
  signing more leaves than are stored means the log was truncated;
- checks that the stored subtrees give the same root as the leaves (proofs come from them);
- given ``recompute`` (kind, ref -> the row's current payload, or None if the row is gone),
  recomputes every leaf from the row it stands for and names each leaf whose row was edited
  or deleted. A row logged again later (a notice sent, a key revoked) is checked against its
  newest leaf only: the older leaves are its history.

What it cannot see alone is a history rewritten whole and re-signed, or cut short together
with its heads: that is the witness's job (``integrity/witness.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from socialcredit.integrity import merkle, store
from socialcredit.integrity.heads import all_heads
from socialcredit.integrity.note import NoteError, open_checkpoint
from socialcredit.settings import Settings

CHUNK = 1 << 16
H = merkle.HASH_SIZE
Recompute = Callable[[str, str], bytes | None]


class RecomputeMany(Protocol):
    def __call__(self, kind: str, ref: str) -> bytes | None: ...

    def many(self, kind: str, refs: Sequence[str]) -> dict[str, bytes] | None: ...


@dataclass(frozen=True)
class LeafProblem:
    index: int
    kind: str
    ref: str
    problem: str  # "edited" | "deleted"

    def __str__(self) -> str:
        what = "was edited" if self.problem == "edited" else "was deleted"
        return f"leaf {self.index}: {self.kind} {self.ref} {what} after it was logged"


@dataclass
class LogVerdict:
    leaves: int = 0
    head_size: int | None = None
    root: bytes = merkle.EMPTY_ROOT
    truncated: bool = False
    problems: list[str] = field(default_factory=list)
    bad_leaves: list[LeafProblem] = field(default_factory=list)
    bad_leaf_count: int = 0
    rows_checked: int = 0
    kinds_unchecked: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.bad_leaf_count

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "leaves": self.leaves,
            "head_size": self.head_size,
            "root": self.root.hex(),
            "truncated": self.truncated,
            "problems": self.problems,
            "bad_leaves": [
                {"index": b.index, "kind": b.kind, "ref": b.ref, "problem": b.problem}
                for b in self.bad_leaves
            ],
            "bad_leaf_count": self.bad_leaf_count,
            "rows_checked": self.rows_checked,
            "kinds_unchecked": sorted(self.kinds_unchecked),
        }


class _Frontier:
    """The perfect subtrees (largest first) covering the leaves seen so far."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []
        self.size = 0

    def push(self, level: int, h: bytes) -> None:
        self.size += 1 << level
        while self.stack and self.stack[-1][0] == level:
            h = merkle.node_hash(self.stack.pop()[1], h)
            level += 1
        self.stack.append((level, h))

    def root(self) -> bytes:
        return merkle.fold([h for _, h in self.stack])


def verify_log(
    engine: Engine,
    recompute: Recompute | RecomputeMany | None = None,
    *,
    vkey: str | None = None,
    limit: int = 100,
) -> LogVerdict:
    """Check the log as described in the module docstring; list at most ``limit`` bad leaves."""
    v = LogVerdict()
    with engine.connect().execution_options(socialcredit_readonly=True) as conn:
        heads = all_heads(conn)
        wanted = sorted({h.size for h in heads})
        roots: dict[int, bytes] = {}
        if 0 in wanted:
            roots[0] = merkle.EMPTY_ROOT
        fr = _Frontier()
        gap = False
        n = store.tree_size(conn)
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            rows = store.entries(conn, lo, hi)
            v.leaves += len(rows)
            try:
                buf = store.leaf_bytes(conn, lo, hi)
            except store.LogCorrupt as e:
                if not gap:
                    v.problems.append(f"{e}: leaf hashes were deleted from the log")
                gap = True
                buf = b""
            if not gap and [i for i, _, _ in rows] != list(range(lo, hi)):
                missing = _first_gap(lo, [i for i, _, _ in rows])
                v.problems.append(
                    f"leaf {missing} and maybe more are missing: leaves were deleted from the log"
                )
                gap = True
            hashes = [buf[k : k + H] for k in range(0, len(buf), H)]
            if not gap:
                _grow(fr, lo, hashes, wanted, roots)
            if recompute is not None and len(hashes) == len(rows):
                _check_rows(conn, v, recompute, rows, hashes, limit)
        if not gap:
            v.root = fr.root() if n else merkle.EMPTY_ROOT
            roots[n] = v.root
            stored = store.root_at(conn, n) if n else merkle.EMPTY_ROOT
            if stored != v.root:
                v.problems.append(
                    "the stored subtree hashes do not match the leaves: proofs would be wrong"
                )
    _check_heads(v, heads, roots, n, vkey, gap)
    return v


def _first_gap(lo: int, idxs: list[int]) -> int:
    for k, i in enumerate(idxs):
        if i != lo + k:
            return lo + k
    return lo + len(idxs)


def _grow(
    fr: _Frontier, lo: int, hashes: list[bytes], wanted: list[int], roots: dict[int, bytes]
) -> None:
    hi = lo + len(hashes)
    inside = [s for s in wanted if lo < s < hi]
    if len(hashes) == CHUNK and not inside and lo % CHUNK == 0:
        fr.push(CHUNK.bit_length() - 1, merkle.perfect_root(b"".join(hashes)))
    else:
        for h in hashes:
            fr.push(0, h)
            if fr.size in inside:
                roots[fr.size] = fr.root()
    if hi in wanted:
        roots[hi] = fr.root()


def _check_rows(
    conn: Connection,
    v: LogVerdict,
    recompute: Recompute | RecomputeMany,
    rows: Sequence[tuple[int, str, str]],
    hashes: Sequence[bytes],
    limit: int,
) -> None:
    by_kind: dict[str, list[tuple[int, str, bytes]]] = {}
    for (i, kind, ref), h in zip(rows, hashes, strict=True):
        by_kind.setdefault(kind, []).append((i, ref, h))
    many = getattr(recompute, "many", None)
    for kind, rs in by_kind.items():
        refs = [ref for _, ref, _ in rs]
        got: dict[str, bytes] | None
        if many is not None:
            got = many(kind, refs)
        else:
            got = {}
            try:
                for ref in refs:
                    p = recompute(kind, ref)
                    if p is not None:
                        got[ref] = p
            except KeyError:
                got = None
        if got is None:
            v.kinds_unchecked.add(kind)
            continue
        for i, ref, h in rs:
            payload = got.get(ref)
            v.rows_checked += 1
            if payload is not None and merkle.leaf_hash(payload) == h:
                continue
            newest = store.leaf_index(conn, kind, ref)
            if payload is not None and newest is not None and newest > i:
                continue  # logged again since: this leaf is its history
            v.bad_leaf_count += 1
            if len(v.bad_leaves) < limit:
                what = "deleted" if payload is None else "edited"
                v.bad_leaves.append(LeafProblem(i, kind, ref, what))


def _check_heads(
    v: LogVerdict,
    heads: Sequence[Any],
    roots: dict[int, bytes],
    n: int,
    vkey: str | None,
    gap: bool,
) -> None:
    if not heads:
        v.problems.append("no signed head: nothing outside the database vouches for the log")
        return
    top = max(heads, key=lambda h: (h.size, h.id))
    v.head_size = top.size
    for h in heads:
        if vkey is not None:
            try:
                cp = open_checkpoint(h.checkpoint, vkey)
            except NoteError as e:
                v.problems.append(f"head {h.id} (size {h.size}): {e.message}")
                continue
            if cp.size != h.size or cp.root != h.root:
                v.problems.append(f"head {h.id}: the stored size or root is not what was signed")
        if h.size > n:
            v.truncated = True
            v.problems.append(
                f"head {h.id} signed {h.size} leaves but the log has {n}: "
                f"leaves {n}..{h.size - 1} were cut off"
            )
        elif not gap and roots.get(h.size) != h.root:
            v.problems.append(
                f"head {h.id} (size {h.size}): its root is not the root of the stored leaves"
            )


def verify_stored(engine: Engine, settings: Settings, vkey: str | None = None) -> LogVerdict:
    """``log verify``: :func:`verify_log` recomputing every leaf from the registry's own
    tables (``leaves.TableRows``), heads checked with ``vkey`` (default the log key's)."""
    from socialcredit.integrity.heads import log_key
    from socialcredit.integrity.leaves import TableRows

    key = vkey or log_key(settings).vkey()
    with engine.connect() as conn:
        return verify_log(engine, TableRows(conn), vkey=key)
