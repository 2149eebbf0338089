"""One immutable layer of the index: keys -> profile ids, plus enterprises' full codes.

Persons' keys are their 17 digits, so a key match is the whole match. An enterprise's key is a
61-bit digest of its code: the key table only says "some listed enterprise has this digest"
(value ENT), and the sorted side arrays of full codes decide, so two codes sharing a digest
can never be confused.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from socialcredit.domain.identity import ENTERPRISE_BIT
from socialcredit.screening.profiles import Profile, ProfileTable
from socialcredit.screening.slots import I64, U64, KeySlots

CODE = np.dtype("S18")
ABSENT = -1


def is_enterprise(key: int) -> bool:
    return bool(key & ENTERPRISE_BIT)


@dataclass(frozen=True, eq=False)
class Layer:
    slots: KeySlots  # key -> profile id | tomb | ent
    ent_keys: U64  # enterprises, sorted by code
    ent_codes: npt.NDArray[np.bytes_]
    ent_pids: I64  # profile id | tomb
    profiles: ProfileTable
    tomb: int  # "removed": shadows the layer below (only in an overlay)
    ent: int  # "an enterprise with this digest: confirm its code"

    @classmethod
    def build(
        cls,
        keys: U64,
        pids: npt.NDArray[np.integer],
        profiles: ProfileTable,
        ent_keys: U64 | None = None,
        ent_codes: npt.NDArray[np.bytes_] | None = None,
        ent_pids: npt.NDArray[np.integer] | None = None,
    ) -> Layer:
        n_prof = len(profiles)
        dtype = np.dtype(np.uint16) if n_prof + 2 <= np.iinfo(np.uint16).max else np.uint32
        ent_val = int(np.iinfo(dtype).max)
        tomb = ent_val - 1
        keys = np.asarray(keys, dtype=np.uint64)
        if len(keys) and bool((keys & np.uint64(ENTERPRISE_BIT)).any()):
            raise ValueError("enterprise keys go in ent_keys, with their codes")
        e_keys = np.asarray(ent_keys if ent_keys is not None else [], dtype=np.uint64)
        e_codes = np.asarray(ent_codes if ent_codes is not None else [], dtype=CODE)
        e_pids = np.asarray(ent_pids if ent_pids is not None else [], dtype=np.int64)
        order = np.argsort(e_codes, kind="stable")
        e_keys, e_codes, e_pids = e_keys[order], e_codes[order], e_pids[order]
        if len(e_codes) > 1 and bool((e_codes[1:] == e_codes[:-1]).any()):
            raise ValueError("an enterprise code appears twice")
        digests = np.unique(e_keys)
        vals = np.asarray(pids, dtype=np.int64)
        e_pids = np.where(e_pids < 0, tomb, e_pids)
        all_keys = np.concatenate([keys, digests])
        all_vals = np.concatenate([np.where(vals < 0, tomb, vals), np.full(len(digests), ent_val)])
        slots = KeySlots.build(all_keys, all_vals.astype(dtype))
        return cls(slots, e_keys, e_codes, e_pids, profiles, tomb, ent_val)

    @property
    def nbytes(self) -> int:
        side = self.ent_keys.nbytes + self.ent_codes.nbytes + self.ent_pids.nbytes
        return self.slots.nbytes + side + self.profiles.nbytes

    def lookup(self, keys: U64, codes: npt.NDArray[np.bytes_] | None) -> I64:
        """Profile id per key; ABSENT where not here; ``tomb`` where removed."""
        pid = self.slots.lookup(keys)
        ents = np.flatnonzero(pid == self.ent)
        if len(ents):
            if codes is None:
                raise ValueError("enterprise keys need their full codes to be confirmed")
            want = np.asarray(codes, dtype=CODE)[ents]
            pos = np.searchsorted(self.ent_codes, want)
            pos[pos == len(self.ent_codes)] = 0
            ok = self.ent_codes[pos] == want
            pid[ents] = np.where(ok, self.ent_pids[pos], ABSENT)
        return pid

    def lookup_one(self, key: int, code: str | None) -> int:
        pid = self.slots.lookup_one(key)
        if pid != self.ent:
            return pid
        if code is None:
            raise ValueError("an enterprise key needs its full code to be confirmed")
        want = code.encode("ascii")
        codes = self.ent_codes.view(np.ndarray)  # bisect: see KeySlots.lookup_one
        pos = bisect_left(codes, want)
        if pos < len(codes) and codes[pos] == want:
            return int(self.ent_pids[pos])
        return ABSENT

    def contents(self) -> tuple[U64, I64, U64, npt.NDArray[np.bytes_], I64]:
        """(person keys, pids, enterprise keys, codes, pids): what a compaction merges."""
        keys, vals = self.slots.items()
        v = vals.astype(np.int64)
        persons = v != self.ent
        return keys[persons], v[persons], self.ent_keys, self.ent_codes, self.ent_pids


def intern(profiles: list[Profile], ids: dict[Profile, int], p: Profile) -> int:
    """The id of ``p`` in ``profiles``, appending it if new."""
    i = ids.get(p)
    if i is None:
        i = ids[p] = len(profiles)
        profiles.append(p)
    return i


def profile_ids(table: ProfileTable) -> tuple[list[Profile], dict[Profile, int]]:
    profiles = [table.profile(i) for i in range(len(table))]
    return profiles, {p: i for i, p in enumerate(profiles)}


def layer_from_entries(entries: Mapping[tuple[int, str | None], Profile | None]) -> Layer:
    """A layer from {(key, code or None): profile, or None for "removed"}."""
    profiles: list[Profile] = []
    ids: dict[Profile, int] = {}
    keys: list[int] = []
    pids: list[int] = []
    e_keys: list[int] = []
    e_codes: list[bytes] = []
    e_pids: list[int] = []
    for (key, code), prof in entries.items():
        pid = ABSENT if prof is None else intern(profiles, ids, prof)
        if is_enterprise(key):
            if code is None:
                raise ValueError(f"enterprise key {key} needs its code")
            e_keys.append(key)
            e_codes.append(code.encode("ascii"))
            e_pids.append(pid)
        else:
            keys.append(key)
            pids.append(pid)
    return Layer.build(
        np.array(keys, dtype=np.uint64),
        np.array(pids, dtype=np.int64),
        ProfileTable.from_profiles(profiles),
        np.array(e_keys, dtype=np.uint64),
        np.array(e_codes, dtype=CODE),
        np.array(e_pids, dtype=np.int64),
    )
