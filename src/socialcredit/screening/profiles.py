"""What the index knows about one restricted subject, stored once for everyone who shares it.

A subject's denies are a few *spans*: one listing fans out to many sectors with the same
start, end and reason code, so a span is (sector bitmask, start day, end day, reason). The
tuple of a subject's spans is its *profile*. Profiles repeat a lot (every open-ended court
defaulter has the same one), so the index keeps a small table of distinct profiles and one
small integer per subject: that is how it stays within a few bytes per subject.

Days are proleptic ordinals (``date.toordinal()``). Spans carry their own start and end, so
a restriction whose end has passed is not enforced and one whose publicity period has ended
is enforced, the very day it happens, with no job rebuilding the index.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from socialcredit.domain.rules import RulePack

OPEN = 2**31 - 1  # the end day of an open-ended restriction (until paid, until removed)
IN_FORCE = 0  # the start day of a span already in force when compiled
ALLOW = -1  # a day-table cell with no deny
MAX_SECTORS = 64
_DAY_CACHE = 4


class Span(NamedTuple):
    mask: int  # sector bits
    start: int  # first day enforced, or IN_FORCE
    end: int  # last day enforced, or OPEN
    reason: int  # index into Schema.reason_codes


Profile = tuple[Span, ...]  # sorted and non-empty


@dataclass(frozen=True)
class Schema:
    """Sector bit numbering and reason-code numbering, both taken from one rule pack."""

    rulepack_version: str
    sectors: tuple[str, ...]
    reason_codes: tuple[str, ...]

    @classmethod
    def from_pack(cls, pack: RulePack) -> Schema:
        sectors = tuple(pack.sectors)
        if len(sectors) > MAX_SECTORS:
            raise ValueError(f"the index holds at most {MAX_SECTORS} sectors, got {len(sectors)}")
        reasons = tuple(sorted({c.reason_code for c in pack.categories.values()}))
        return cls(pack.version, sectors, reasons)

    @functools.cached_property
    def _bits(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.sectors)}

    def bit(self, sector: str) -> int:
        try:
            return self._bits[sector]
        except KeyError:
            raise KeyError(
                f"sector {sector!r} is not in rule pack {self.rulepack_version}"
            ) from None

    def reason_id(self, code: str) -> int:
        try:
            return self.reason_codes.index(code)
        except ValueError:
            raise KeyError(
                f"reason code {code!r} is not in rule pack {self.rulepack_version}"
            ) from None


def ordinal(day: dt.date | int) -> int:
    return day.toordinal() if isinstance(day, dt.date) else int(day)


def decide(profile: Profile, bit: int, day: int) -> tuple[int, int]:
    """(until, reason) of the decisive deny in sector ``bit`` on ``day``, or (ALLOW, -1).

    The decisive deny lasts longest (open-ended first): its end is what
    ``Assessment.decide`` reports. Ties go to the higher reason index, as in the day table.
    """
    best = ALLOW
    reason = -1
    for s in profile:
        if (s.mask >> bit) & 1 and s.start <= day <= s.end and (s.end, s.reason) > (best, reason):
            best, reason = s.end, s.reason
    return best, reason


@dataclass(frozen=True, eq=False)
class ProfileTable:
    """Distinct profiles as flat span arrays (CSR): profile i is spans offsets[i]:offsets[i+1]."""

    offsets: npt.NDArray[np.int64]
    mask: npt.NDArray[np.uint64]
    start: npt.NDArray[np.int32]
    end: npt.NDArray[np.int32]
    reason: npt.NDArray[np.uint16]
    _days: dict[int, npt.NDArray[np.int64]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_profiles(cls, profiles: Sequence[Profile]) -> ProfileTable:
        spans = [s for p in profiles for s in p]
        if any(not p for p in profiles):
            raise ValueError("a profile has at least one span")
        sizes = np.fromiter((len(p) for p in profiles), dtype=np.int64, count=len(profiles))
        offsets = np.zeros(len(profiles) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return cls(
            offsets,
            np.array([s.mask for s in spans], dtype=np.uint64),
            np.array([s.start for s in spans], dtype=np.int32),
            np.array([s.end for s in spans], dtype=np.int32),
            np.array([s.reason for s in spans], dtype=np.uint16),
        )

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def nbytes(self) -> int:
        arrays = (self.offsets, self.mask, self.start, self.end, self.reason)
        return sum(a.nbytes for a in arrays) + sum(t.nbytes for t in self._days.values())

    def profile(self, i: int) -> Profile:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return tuple(
            Span(int(m), int(s), int(e), int(r))
            for m, s, e, r in zip(
                self.mask[a:b].tolist(),
                self.start[a:b].tolist(),
                self.end[a:b].tolist(),
                self.reason[a:b].tolist(),
                strict=True,
            )
        )

    def day_table(self, day: int, n_sectors: int) -> npt.NDArray[np.int64]:
        """Per profile and sector on ``day``: ALLOW, or (until << 16) | reason of the decisive
        deny. Computed once per day (a few ms per 100,000 profiles) and cached, so a batch
        costs one gather per hit."""
        table = self._days.get(day)
        if table is not None:
            return table
        n = len(self)
        table = np.full((n, n_sectors), ALLOW, dtype=np.int64)
        if n:
            live = (self.start <= day) & (self.end >= day)
            value = np.where(
                live, (self.end.astype(np.int64) << 16) | self.reason.astype(np.int64), ALLOW
            )
            firsts = self.offsets[:-1]
            for bit in range(n_sectors):
                hit = ((self.mask >> np.uint64(bit)) & np.uint64(1)).astype(bool)
                table[:, bit] = np.maximum.reduceat(np.where(hit, value, ALLOW), firsts)
        if len(self._days) >= _DAY_CACHE:
            self._days.clear()  # readers racing here only recompute; nothing is wrong
        self._days[day] = table
        return table
