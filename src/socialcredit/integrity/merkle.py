"""RFC 9162 Merkle trees: hashing, tree heads, inclusion and consistency proofs.

Pure and standard library only. Leaves are hashed ``SHA-256(0x00 || data)``, interior nodes
``SHA-256(0x01 || left || right)``; the tree over ``n`` leaves splits at the largest power of
two below ``n`` (RFC 9162 section 2.1.1).

Proof generation is written over *ranges* of leaves rather than over a tree in memory: every
hash a proof carries is ``MTH(D[start:end])`` for a range the RFC's recursion names, and each
such range is a run of *perfect* subtrees (``2**level`` leaves starting at
``index * 2**level``). A store only has to answer "the hash of perfect subtree (level, index)"
to serve proofs in O(log n) lookups (:class:`NodeSource`); :class:`MemoryTree` does it from
lists, ``integrity/store.py`` from the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha = hashlib.sha256

# (level, index) -> hash of the perfect subtree of 2**level leaves starting at index * 2**level
NodeSource = Callable[[Sequence[tuple[int, int]]], Sequence[bytes]]


def leaf_hash(data: bytes) -> bytes:
    return _sha(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha(b"\x01" + left + right).digest()


def leaf_hashes(payloads: Iterable[bytes]) -> list[bytes]:
    """Leaf hashes of a batch: one C call per leaf, no Python frame per leaf."""
    return [_sha(b"\x00" + p).digest() for p in payloads]


def parent_level(level: bytes) -> bytes:
    """The next level up of concatenated 32-byte hashes (an odd last hash is left out).

    Measured against laying all pairs out in one prefixed buffer first (extended-slice
    copies, or a join): the plain concatenation per pair is as fast and simpler.
    """
    mv = memoryview(level)
    end = len(level) - len(level) % (2 * HASH_SIZE)
    return b"".join(
        [_sha(b"\x01" + mv[i : i + 2 * HASH_SIZE]).digest() for i in range(0, end, 2 * HASH_SIZE)]
    )


def subtree_roots(hashes: bytes, level: int) -> bytes:
    """The roots of consecutive perfect subtrees of ``2**level`` leaves, concatenated, given
    their leaf hashes concatenated (a whole number of subtrees)."""
    if len(hashes) % (HASH_SIZE << level):
        raise ValueError(
            f"{len(hashes) // HASH_SIZE} leaves are not whole subtrees of {1 << level}"
        )
    for _ in range(level):
        hashes = parent_level(hashes)
    return hashes


def perfect_root(hashes: bytes) -> bytes:
    """The root of a perfect subtree given its leaf-level hashes concatenated (2**k of them)."""
    level = hashes
    while len(level) > HASH_SIZE:
        level = parent_level(level)
    return level


def split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def pieces(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect subtrees, left to right, whose right fold is ``MTH(D[start:end])``.

    Valid for the ranges RFC 9162's recursions produce, whose start is a multiple of the
    largest power of two not above their size.
    """
    out: list[tuple[int, int]] = []
    while start < end:
        size = end - start
        k = 1 << (size.bit_length() - 1)
        level = k.bit_length() - 1
        if start % k:
            raise ValueError(f"range [{start}, {end}) is not a subtree of the RFC 9162 tree")
        out.append((level, start >> level))
        start += k
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold of perfect-subtree hashes into the hash of the range they cover."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose hashes make PATH(index, D[0:size]) (RFC 9162 2.1.3.1), in order."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    found: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split(hi - lo)
        if index - lo < k:
            found.append((lo + k, hi))
            hi = lo + k
        else:
            found.append((lo, lo + k))
            lo += k
    return found[::-1]


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The ranges whose hashes make PROOF(first, D[0:second]) (RFC 9162 2.1.4.1), in order."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    found: list[tuple[int, int]] = []
    lo, hi, complete = 0, second, True
    while True:
        if first - lo == hi - lo:
            if not complete:
                found.append((lo, hi))
            break
        k = split(hi - lo)
        if first - lo <= k:
            found.append((lo + k, hi))
            hi = lo + k
        else:
            found.append((lo, lo + k))
            lo += k
            complete = False
    return found[::-1]


def range_hashes(ranges: Sequence[tuple[int, int]], source: NodeSource) -> list[bytes]:
    """The hash of each range, asking ``source`` once for every perfect subtree needed."""
    parts = [pieces(a, b) for a, b in ranges]
    wanted = sorted({p for ps in parts for p in ps})
    got = dict(zip(wanted, source(wanted), strict=True))
    return [fold([got[p] for p in ps]) for ps in parts]


def _lsb(x: int) -> int:
    return x & 1


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """RFC 9162 2.1.3.2: the root the proof leads to, or None if it cannot be a valid path."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if _lsb(fn) or fn == sn:
            r = node_hash(p, r)
            if not _lsb(fn):
                while not _lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows the leaf hash ``leaf`` at ``index`` in the tree ``root``."""
    got = root_from_inclusion(index, size, leaf, proof)
    return got is not None and got == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: whether tree ``second_root`` extends tree ``first_root``."""
    if not 0 <= first <= second:
        return False
    if first == 0:
        return not proof and (second > 0 or second_root == EMPTY_ROOT)
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if not path:
        return False
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while _lsb(fn):
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if _lsb(fn) or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not _lsb(fn):
                while not _lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


class MemoryTree:
    """A whole tree in memory, every level kept: for tests, verifiers and recomputation."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.levels: list[bytearray] = [bytearray()]
        self.extend(leaves)

    @property
    def size(self) -> int:
        return len(self.levels[0]) // HASH_SIZE

    def extend(self, leaf_hashes_: Iterable[bytes]) -> None:
        """Append leaf hashes (already hashed with :func:`leaf_hash`)."""
        new = b"".join(leaf_hashes_)
        if not new:
            return
        unchanged = self.size  # entries of the current level that the append leaves alone
        self.levels[0] += new
        lvl = 0
        while len(self.levels[lvl]) >= 2 * HASH_SIZE:
            if lvl + 1 == len(self.levels):
                self.levels.append(bytearray())
            cur, nxt = self.levels[lvl], self.levels[lvl + 1]
            unchanged //= 2
            del nxt[unchanged * HASH_SIZE :]
            nxt += parent_level(bytes(cur[unchanged * 2 * HASH_SIZE :]))
            lvl += 1

    def node(self, level: int, index: int) -> bytes:
        lv = self.levels[level]
        return bytes(lv[index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def nodes(self, keys: Sequence[tuple[int, int]]) -> list[bytes]:
        return [self.node(lv, i) for lv, i in keys]

    def root(self, size: int | None = None) -> bytes:
        n = self.size if size is None else size
        return fold(self.nodes(pieces(0, n)))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        n = self.size if size is None else size
        return range_hashes(inclusion_ranges(index, n), self.nodes)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        n = self.size if second is None else second
        return range_hashes(consistency_ranges(first, n), self.nodes)
