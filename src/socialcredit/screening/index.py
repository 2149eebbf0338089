"""The compiled screening index: who is denied what, today, answered from memory.

Immutable. A base :class:`~socialcredit.screening.layer.Layer` holds everyone with an active
or pending deny; deltas go into a small overlay layer that shadows the base and is merged into
it once it grows (``with_changes`` returns a new index, so readers of the old one never lock).
:class:`IndexHolder` is the one mutable thing: a reference swapped atomically.

Answers are exact for any day on or after the day each entry was compiled: every span keeps
its own start and end, so expiry and the end of a publicity period need no rebuild.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from socialcredit.screening.layer import (
    ABSENT,
    CODE,
    Layer,
    intern,
    layer_from_entries,
    profile_ids,
)
from socialcredit.screening.profiles import (
    ALLOW,
    OPEN,
    Profile,
    ProfileTable,
    Schema,
    decide,
    ordinal,
)
from socialcredit.screening.slots import U64

COMPACT_MIN = 65_536  # an overlay this large (or 2% of the base) is merged into the base


@dataclass(frozen=True)
class SubjectEntry:
    """One restricted subject as the index holds it; ``code`` is set for enterprises."""

    key: int
    code: str | None
    profile: Profile


class Verdict(NamedTuple):
    deny: bool
    until: dt.date | None  # last day denied; None with deny=True means open-ended
    reason_code: str | None


@dataclass(frozen=True)
class BatchVerdicts:
    deny: npt.NDArray[np.bool_]
    until: npt.NDArray[np.int32]  # date ordinal; OPEN when open-ended; 0 when allowed
    reason: npt.NDArray[np.int16]  # index into reason_codes; -1 when allowed
    reason_codes: tuple[str, ...]

    def verdict(self, i: int) -> Verdict:
        if not self.deny[i]:
            return Verdict(False, None, None)
        u = int(self.until[i])
        until = None if u == OPEN else dt.date.fromordinal(u)
        return Verdict(True, until, self.reason_codes[int(self.reason[i])])


@dataclass(frozen=True, eq=False)
class ScreeningIndex:
    schema: Schema
    base: Layer
    overlay: Layer | None = None
    changes: Mapping[tuple[int, str | None], Profile | None] = field(default_factory=dict)
    build_seconds: float = 0.0

    # --- building -----------------------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        schema: Schema,
        keys: U64,
        pids: npt.NDArray[np.integer],
        profiles: ProfileTable,
        ent_keys: U64 | None = None,
        ent_codes: npt.NDArray[np.bytes_] | None = None,
        ent_pids: npt.NDArray[np.integer] | None = None,
    ) -> ScreeningIndex:
        """The bulk path: person keys with profile ids, enterprises with their codes."""
        t = time.perf_counter()
        base = Layer.build(keys, pids, profiles, ent_keys, ent_codes, ent_pids)
        return cls(schema, base, build_seconds=time.perf_counter() - t)

    @classmethod
    def from_entries(cls, schema: Schema, entries: Iterable[SubjectEntry]) -> ScreeningIndex:
        t = time.perf_counter()
        merged: dict[tuple[int, str | None], Profile | None] = {}
        for e in entries:
            k = (e.key, e.code)
            if k in merged:
                raise ValueError(f"subject {e.code or e.key} appears twice")
            merged[k] = e.profile
        base = layer_from_entries(merged)
        return cls(schema, base, build_seconds=time.perf_counter() - t)

    def with_changes(
        self,
        upserts: Iterable[SubjectEntry] = (),
        removals: Iterable[tuple[int, str | None]] = (),
    ) -> ScreeningIndex:
        """A new index with these subjects replaced or removed; this one is untouched.

        Costs O(size of the overlay) until the overlay reaches COMPACT_MIN entries (or 2% of
        the base), then one O(n) merge; either way readers keep using the old object.
        """
        changes = dict(self.changes)
        for key, code in removals:
            changes[(key, code)] = None
        for e in upserts:
            changes[(e.key, e.code)] = e.profile
        if len(changes) >= max(COMPACT_MIN, self.base.slots.size // 50):
            return ScreeningIndex(self.schema, self.base, None, changes).compact()
        t = time.perf_counter()
        overlay = layer_from_entries(changes) if changes else None
        return ScreeningIndex(self.schema, self.base, overlay, changes, time.perf_counter() - t)

    def compact(self) -> ScreeningIndex:
        """Merge the overlay into a new base (a full rebuild of the key table)."""
        if not self.changes:
            return self
        t = time.perf_counter()
        keys, pids, e_keys, e_codes, e_pids = self.base.contents()
        profiles, ids = profile_ids(self.base.profiles)
        person = {k: p for (k, c), p in self.changes.items() if c is None}
        ent = {c.encode("ascii"): (k, p) for (k, c), p in self.changes.items() if c is not None}
        keep = ~np.isin(keys, np.fromiter(person, dtype=np.uint64, count=len(person)))
        add = [(k, intern(profiles, ids, p)) for k, p in person.items() if p is not None]
        keys = np.concatenate([keys[keep], np.array([k for k, _ in add], dtype=np.uint64)])
        pids = np.concatenate([pids[keep], np.array([i for _, i in add], dtype=np.int64)])
        keep_e = ~np.isin(e_codes, np.array(list(ent), dtype=CODE))
        add_e = [(c, k, intern(profiles, ids, p)) for c, (k, p) in ent.items() if p is not None]
        base = Layer.build(
            keys,
            pids,
            ProfileTable.from_profiles(profiles),
            np.concatenate([e_keys[keep_e], np.array([k for _, k, _ in add_e], dtype=np.uint64)]),
            np.concatenate([e_codes[keep_e], np.array([c for c, _, _ in add_e], dtype=CODE)]),
            np.concatenate([e_pids[keep_e], np.array([i for _, _, i in add_e], dtype=np.int64)]),
        )
        return ScreeningIndex(self.schema, base, build_seconds=time.perf_counter() - t)

    # --- reading ------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Subjects in the base layer; an overlay's changes count once compacted."""
        digests = len(np.unique(self.base.ent_keys))
        return self.base.slots.size - digests + len(self.base.ent_keys)

    @property
    def nbytes(self) -> int:
        return self.base.nbytes + (self.overlay.nbytes if self.overlay is not None else 0)

    def sector_bit(self, sector: str) -> int:
        return self.schema.bit(sector)

    def _find(self, key: int, code: str | None) -> tuple[Layer, int] | None:
        for layer in (self.overlay, self.base):
            if layer is None:
                continue
            pid = layer.lookup_one(key, code)
            if pid == layer.tomb:
                return None
            if pid != ABSENT:
                return layer, pid
        return None

    def check(
        self, key: int, sector_bit: int, today: dt.date | int, code: str | None = None
    ) -> Verdict:
        """Is subject ``key`` denied in sector ``sector_bit`` on ``today``?

        ``code`` is the full credit code, required for enterprise keys (a digest).
        """
        if not 0 <= sector_bit < len(self.schema.sectors):
            raise ValueError(f"sector bit {sector_bit} is out of range")
        found = self._find(key, code)
        if found is None:
            return Verdict(False, None, None)
        layer, pid = found
        until, reason = decide(layer.profiles.profile(pid), sector_bit, ordinal(today))
        if until == ALLOW:
            return Verdict(False, None, None)
        day = None if until == OPEN else dt.date.fromordinal(until)
        return Verdict(True, day, self.schema.reason_codes[reason])

    def check_batch(
        self,
        keys: U64,
        sector_bits: npt.NDArray[np.integer] | int,
        today: dt.date | int,
        codes: npt.NDArray[np.bytes_] | None = None,
    ) -> BatchVerdicts:
        """Vectorised ``check``: one sector for all, or one per row; ``codes`` (S18) are
        needed only if some rows are enterprises."""
        keys = np.asarray(keys, dtype=np.uint64)
        n_sect = len(self.schema.sectors)
        bits = np.asarray(sector_bits, dtype=np.int64)
        if bits.size and (int(bits.min()) < 0 or int(bits.max()) >= n_sect):
            raise ValueError("a sector bit is out of range")
        day = ordinal(today)
        value = np.full(len(keys), ALLOW, dtype=np.int64)
        pid = self.base.lookup(keys, codes)
        layers = [(self.base, pid)]
        if self.overlay is not None:
            over = self.overlay.lookup(keys, codes)
            shadowed = over != ABSENT
            pid[shadowed] = ABSENT  # the overlay decides these rows
            layers.append((self.overlay, over))
        for layer, p in layers:
            rows = np.flatnonzero((p != ABSENT) & (p != layer.tomb))
            if not len(rows):
                continue
            table = layer.profiles.day_table(day, n_sect)
            b = bits if bits.ndim == 0 else bits[rows]
            value[rows] = table[p[rows], b]
        deny = value != ALLOW
        until = np.where(deny, value >> 16, 0).astype(np.int32)
        reason = np.where(deny, value & 0xFFFF, -1).astype(np.int16)
        return BatchVerdicts(deny, until, reason, self.schema.reason_codes)


class IndexHolder:
    """The current index. Readers take ``current`` (one attribute read, no lock); writers
    build a new index off to the side and ``swap`` it in."""

    def __init__(self, index: ScreeningIndex) -> None:
        self._index = index
        self._write = threading.Lock()

    @property
    def current(self) -> ScreeningIndex:
        return self._index

    def swap(self, index: ScreeningIndex) -> ScreeningIndex:
        """Install ``index``; returns the one it replaced."""
        with self._write:
            old, self._index = self._index, index
        return old

    def apply(
        self,
        upserts: Iterable[SubjectEntry] = (),
        removals: Iterable[tuple[int, str | None]] = (),
    ) -> ScreeningIndex:
        """Apply a delta to the current index and swap; writers queue, readers never wait."""
        with self._write:
            self._index = self._index.with_changes(upserts, removals)
            return self._index
