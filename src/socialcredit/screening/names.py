"""The name check: is this the registry's name for this ID? Answered from memory.

A relying party must send the name read from the ID card with the number, so that nobody can
fish the lists with bare numbers. The server keeps, for every subject in the registry (not
only the restricted), a 32-bit hash of the normalised name under the subject's 64-bit key, in
the same one-gather hash table the index uses (:class:`KeySlots`): about 16 bytes a subject
(12 bytes of payload at load 0.75), so 1.4 billion people would take ~22 GB on a screening
host and the demo's 100,000 take 1.6 MB. A wrong name passes with probability 2**-32.

New and renamed subjects go into a small dict overlay; :meth:`NameTable.compacted` folds it in.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from socialcredit.screening.slots import KeySlots

# Separators that ID cards and keyboards spell differently: the middle dot of minority names
# (U+00B7, U+30FB, U+2022, U+2027), hyphens, spaces.
_DROP = dict.fromkeys(map(ord, " \t\u00b7\u30fb\u2022\u2027\u00a0-.'"), None)
COMPACT_AT = 100_000


def normalise_name(name: str) -> str:
    return unicodedata.normalize("NFKC", name).translate(_DROP).casefold()


def name_hash(name: str) -> int:
    digest = hashlib.blake2b(normalise_name(name).encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "little")


@dataclass(frozen=True, eq=False)
class NameTable:
    base: KeySlots
    overlay: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def build(cls, items: Iterable[tuple[int, str]]) -> NameTable:
        """From (subject key, name) pairs; a key given twice keeps its last name."""
        latest = {k: name_hash(n) for k, n in items}
        keys = np.fromiter(latest.keys(), dtype=np.uint64, count=len(latest))
        vals = np.fromiter(latest.values(), dtype=np.uint32, count=len(latest))
        return cls(KeySlots.build(keys, vals))

    @property
    def size(self) -> int:
        return self.base.size + sum(1 for k in self.overlay if self.base.lookup_one(k) < 0)

    @property
    def nbytes(self) -> int:
        return self.base.nbytes

    def hash_of(self, key: int) -> int | None:
        h = self.overlay.get(key)
        if h is not None:
            return h
        v = self.base.lookup_one(key)
        return None if v < 0 else v

    def matches(self, key: int, name: str) -> bool:
        """True if ``name`` is the registry's name for ``key``; False if not or not known."""
        h = self.hash_of(key)
        return h is not None and h == name_hash(name)

    def with_names(self, items: Iterable[tuple[int, str]]) -> NameTable:
        over = dict(self.overlay)
        over.update((k, name_hash(n)) for k, n in items)
        table = NameTable(self.base, over)
        return table.compacted() if len(over) >= COMPACT_AT else table

    def compacted(self) -> NameTable:
        if not self.overlay:
            return self
        keys, vals = self.base.items()
        merged = dict(zip(keys.tolist(), vals.tolist(), strict=True))
        merged.update(self.overlay)
        k = np.fromiter(merged.keys(), dtype=np.uint64, count=len(merged))
        v = np.fromiter(merged.values(), dtype=np.uint32, count=len(merged))
        return NameTable(KeySlots.build(k, v))
