"""The name check: is this the registry's name for this ID? Answered from memory.

A relying party must send the name read from the ID card with the number, so that nobody can
fish the lists with bare numbers. Every screening node holds a name entry for every subject in
the registry (not only the restricted): 1.4 billion at national scale. Storing whole 64-bit
keys would cost 16+ bytes a subject (22 GB); this table stores no keys at all.

The base is a static *retrieval* table over the subjects known when it was built (an XOR
filter used as a function: Dietzfelbinger and Pagh's retrieval, in the 3-block layout of Graf
and Lemire's XOR filters): 32-bit cells, 1.23 cells a subject plus 32, so about 4.9 bytes a
subject. For a known key ``k`` the three cells its hash picks XOR to exactly the 32-bit hash of
its normalised name; for any other key they XOR to a value that is, for a wrong name, equal to
the name's hash with probability 2**-32, and a wrong name's hash equals the right one's with
that probability too (:mod:`~socialcredit.screening.namehash` says why). So a wrong name (or
an ID unknown to the registry, which the name check treats the same way) passes with
probability 2**-32 per guess, the same as the keyed table it replaces, and the relying
party's budget of failed name checks keeps guessing far below that.

Subjects added or renamed since the base was built live in an exact table of their own
(``changes``: whole keys, :class:`KeySlots`) that is looked up first, plus a small dict overlay
folded into it by :meth:`NameTable.compacted`. A full build (a server start without a
snapshot, or ``Screener.build``) folds everything back into the base.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from socialcredit.screening.namehash import hash_names, name_hash, normalise_name
from socialcredit.screening.slots import KeySlots

__all__ = ["NameFilter", "NameTable", "hash_names", "name_hash", "normalise_name"]

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
Cells = npt.NDArray[np.signedinteger]  # int32 or int64 cell numbers

COMPACT_AT = 100_000
BULK_MIN = 64  # names checked one by one below this many, as arrays above
HASH_AT_ONCE = 1 << 20  # names hashed as one column when a table is built
_M64 = (1 << 64) - 1
_M32 = (1 << 32) - 1
CELLS_PER_KEY = 1.23  # below ~1.22 a random 3-hypergraph stops peeling
_ROTATE = (0, 21, 42)  # each block reads its own bits of the one 64-bit hash


# --------------------------------------------------------------------------- the hash


def _mix(keys: U64, seed: int) -> U64:
    """splitmix64's finaliser over ``keys + seed``: every output bit depends on every key bit.
    (Array arithmetic wraps modulo 2**64 silently, as it must here.)"""
    z = keys + np.uint64(seed)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _mix_one(key: int, seed: int) -> int:
    z = (key + seed) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _positions(h: U64, block: int) -> list[Cells]:
    # int32 cell numbers while they fit (up to ~580 million keys): half the build's memory
    dtype = np.int32 if 3 * block < 2**31 else np.int64
    out: list[Cells] = []
    for i, r in enumerate(_ROTATE):
        x = ((h << np.uint64(r)) | (h >> np.uint64(64 - r))) if r else h
        lo = x & np.uint64(_M32)
        cell: Cells = ((lo * np.uint64(block)) >> np.uint64(32)).astype(dtype)
        cell += i * block
        out.append(cell)
    return out


def _positions_one(h: int, block: int) -> tuple[int, int, int]:
    p = []
    for i, r in enumerate(_ROTATE):
        x = (((h << r) | (h >> (64 - r))) & _M64) if r else h
        p.append((((x & _M32) * block) >> 32) + i * block)
    return p[0], p[1], p[2]


# --------------------------------------------------------------------------- the base


@dataclass(frozen=True, eq=False)
class NameFilter:
    """A static function from the keys it was built over to their 32-bit name hashes."""

    seed: int
    block: int
    cells: U32  # 3 * block cells
    count: int  # keys it was built over

    @classmethod
    def build(cls, keys: U64, values: U32, seed: int = 0x5EED) -> NameFilter:
        """From distinct ``keys`` and their ``values``; vectorised peeling, round by round."""
        n = len(keys)
        block = max(4, int(np.ceil(CELLS_PER_KEY * n / 3)) + 11)
        for attempt in range(16):
            s = (seed + attempt * 0x9E3779B97F4A7C15) & _M64
            got = _peel(_positions(_mix(keys, s), block), block)
            if got is not None:
                return cls(s, block, _assign(got, values, block), n)
        raise RuntimeError("name filter construction failed 16 times")  # pragma: no cover

    @property
    def nbytes(self) -> int:
        return int(self.cells.nbytes)

    def lookup_one(self, key: int) -> int:
        a, b, c = _positions_one(_mix_one(key, self.seed), self.block)
        cells = self.cells
        return int(cells[a].item() ^ cells[b].item() ^ cells[c].item())

    def lookup(self, keys: U64) -> U32:
        a, b, c = _positions(_mix(keys, self.seed), self.block)
        out: U32 = self.cells[a] ^ self.cells[b] ^ self.cells[c]
        return out

    def meta(self) -> dict[str, object]:
        return {"seed": self.seed, "block": self.block, "count": self.count}

    @classmethod
    def from_arrays(cls, meta: Mapping[str, object], cells: U32) -> NameFilter:
        return cls(int(str(meta["seed"])), int(str(meta["block"])), cells, int(str(meta["count"])))


Round = tuple[I64, Cells, Cells]  # keys peeled, the cell each was peeled from, their 3 cells


def _peel(pos: list[Cells], block: int) -> list[Round] | None:
    """Peel the 3-hypergraph (keys are edges over 3 * block cells) in rounds: each round
    removes every key that is alone in one of its cells. Returns the rounds, or None if some
    keys can never be peeled (a 2-core: build again with another seed).

    Each round looks only at the cells whose count has just dropped to one (the frontier),
    through a cell -> keys index sorted once, so the whole peel costs O(n) after the sort.
    """
    size = 3 * block
    p = np.stack(pos)  # (3, n)
    n = p.shape[1]
    if n == 0:
        return []
    flat = p.ravel()  # entry j * n + k is key k's j-th cell
    counts = np.bincount(flat, minlength=size)
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    owner = (np.argsort(flat, kind="stable") % n).astype(np.int64)
    count = counts.astype(np.int32)
    alive = np.ones(n, dtype=bool)
    left = n
    frontier = np.flatnonzero(count == 1)
    rounds: list[Round] = []
    while len(frontier):
        starts = indptr[frontier]
        lens = indptr[frontier + 1] - starts
        # every entry of every frontier cell: ranges [start, start + len) laid end to end
        at = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
        keys = owner[at]
        cells_of = np.repeat(frontier, lens)
        live = alive[keys]
        keys, cells_of = keys[live], cells_of[live]
        keys, first = np.unique(keys, return_index=True)  # a key alone in two cells: once
        if not len(keys):
            break
        own = cells_of[first]
        alive[keys] = False
        left -= len(keys)
        mine = p[:, keys]
        rounds.append((keys, own, mine))
        touched, times = np.unique(mine.ravel(), return_counts=True)
        count[touched] -= times.astype(np.int32)
        frontier = touched[count[touched] == 1]
    return rounds if left == 0 else None


def _assign(rounds: list[Round], values: U32, block: int) -> U32:
    """Fill the cells in reverse peeling order. A key peeled in round r meets, besides its own
    cell, only cells peeled from in later rounds (already filled) or never (zero): were one of
    them peeled from in an earlier round, this key would have shared that cell then."""
    cells = np.zeros(3 * block, dtype=np.uint32)
    for keys, own, mine in reversed(rounds):
        # cells[own] is still 0 here, so XOR-ing all three reads the other two only
        cells[own] = values[keys] ^ cells[mine[0]] ^ cells[mine[1]] ^ cells[mine[2]]
    return cells


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True, eq=False)
class NameTable:
    """The base filter, the exact table of changes since it was built, and a dict overlay."""

    base: NameFilter
    changes: KeySlots | None = None
    overlay: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def build(cls, items: Iterable[tuple[int, str]]) -> NameTable:
        """From (subject key, name) pairs; a key given twice keeps its last name."""
        latest = dict(items)
        keys = np.fromiter(latest.keys(), dtype=np.uint64, count=len(latest))
        names = list(latest.values())
        del latest
        parts = [
            hash_names(names[i : i + HASH_AT_ONCE]) for i in range(0, len(names), HASH_AT_ONCE)
        ]
        vals = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint32)
        return cls(NameFilter.build(keys, vals))

    @property
    def size(self) -> int:
        """Name entries: the base's subjects plus each key added or renamed since (a renamed
        subject counts twice until the next full build folds it back into the base)."""
        return self.base.count + len(self._changed())

    @property
    def nbytes(self) -> int:
        return self.base.nbytes + (0 if self.changes is None else self.changes.nbytes)

    def _changed(self) -> dict[int, int]:
        out: dict[int, int] = {}
        if self.changes is not None:
            keys, vals = self.changes.items()
            out = dict(zip(keys.tolist(), vals.tolist(), strict=True))
        out.update(self.overlay)
        return out

    def hash_of(self, key: int) -> int:
        """The stored hash for ``key``: exact for a known key; for an unknown one, a value
        that equals any given name's hash with probability 2**-32."""
        h = self.overlay.get(key)
        if h is not None:
            return h
        if self.changes is not None:
            v = self.changes.lookup_one(key)
            if v >= 0:
                return v
        return self.base.lookup_one(key)

    def hashes(self, keys: U64) -> U32:
        """:meth:`hash_of` for many keys at once."""
        out = self.base.lookup(keys)
        if self.changes is not None:
            v = self.changes.lookup(keys)
            hit = v >= 0
            out[hit] = v[hit].astype(np.uint32)
        if self.overlay:
            ok = np.fromiter(self.overlay.keys(), dtype=np.uint64, count=len(self.overlay))
            ov = np.fromiter(self.overlay.values(), dtype=np.uint32, count=len(self.overlay))
            order = np.argsort(ok)
            ok, ov = ok[order], ov[order]
            at = np.minimum(np.searchsorted(ok, keys), len(ok) - 1)
            hit = ok[at] == keys
            out[hit] = ov[at[hit]]
        return out

    def matches(self, key: int, name: str) -> bool:
        """True if ``name`` is the registry's name for ``key`` (a wrong name or an unknown key
        passes with probability 2**-32)."""
        return self.hash_of(key) == name_hash(name)

    def with_names(self, items: Iterable[tuple[int, str]]) -> NameTable:
        pairs = list(items)
        hashes = hash_names([n for _, n in pairs]).tolist()
        return self.with_hashes(zip([k for k, _ in pairs], hashes, strict=True))

    def with_hashes(self, items: Iterable[tuple[int, int]]) -> NameTable:
        """:meth:`with_names` with the names hashed already (:meth:`renamed`)."""
        over = dict(self.overlay)
        over.update(items)
        table = NameTable(self.base, self.changes, over)
        return table.compacted() if len(over) >= COMPACT_AT else table

    def renamed(self, items: Sequence[tuple[int, str]]) -> list[tuple[int, int]]:
        """(key, name hash) of the ``items`` whose name is not the one held for their key, in
        their order: ``hash_of(k) != name_hash(n)`` item by item, the lookups vectorised."""
        if len(items) < BULK_MIN:
            return [(k, h) for k, n in items if self.hash_of(k) != (h := name_hash(n))]
        keys = np.fromiter((k for k, _ in items), dtype=np.uint64, count=len(items))
        held = self.hashes(keys)
        given = hash_names([n for _, n in items])
        return [(items[i][0], int(given[i])) for i in np.flatnonzero(held != given).tolist()]

    def compacted(self) -> NameTable:
        """The overlay folded into the exact table of changes (the base is static)."""
        if not self.overlay:
            return self
        merged = self._changed()
        k = np.fromiter(merged.keys(), dtype=np.uint64, count=len(merged))
        v = np.fromiter(merged.values(), dtype=np.uint32, count=len(merged))
        return NameTable(self.base, KeySlots.build(k, v))

    # --- snapshots --------------------------------------------------------------------------

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The arrays of a compacted table, by name, for ``np.save``."""
        out: dict[str, npt.NDArray[np.generic]] = {"filter": self.base.cells}
        if self.changes is not None:
            out |= {f"changes_{k}": v for k, v in self.changes.arrays().items()}
        return out

    def meta(self) -> dict[str, object]:
        return {
            "filter": self.base.meta(),
            "changes": None if self.changes is None else self.changes.meta(),
        }

    @classmethod
    def from_arrays(
        cls, meta: Mapping[str, object], arrays: Mapping[str, npt.NDArray[np.generic]]
    ) -> NameTable:
        fmeta = meta["filter"]
        cmeta = meta["changes"]
        assert isinstance(fmeta, dict)
        base = NameFilter.from_arrays(fmeta, arrays["filter"].astype(np.uint32, copy=False))
        changes = None
        if isinstance(cmeta, dict):
            pre = "changes_"
            parts = {k[len(pre) :]: v for k, v in arrays.items() if k.startswith(pre)}
            changes = KeySlots.from_arrays(cmeta, parts)
        return cls(base, changes)
