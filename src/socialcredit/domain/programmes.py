"""Regional scoring programmes as data: grades, counting windows, score rules, eligibility,
the programme of a region and the whole scoring pack. Pure and frozen; the rules that turn a
subject's records into a score are in :mod:`socialcredit.domain.scoring`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

MINOR_AGE = 18  # minors are never listed (SPC rules, Art. 4); their records never count here


def anniversary(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def cutoff(on: dt.date, years: int) -> dt.date:
    """The latest day ``d`` with ``years`` full years between ``d`` and ``on``."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return dt.date(on.year - years, 2, 28)


@dataclass(frozen=True)
class Grade:
    name: str
    min_score: int | None  # None only for the lowest grade


@dataclass(frozen=True)
class Window:
    years: int = 0
    days: int = 0

    def stop(self, start: dt.date) -> dt.date:
        return anniversary(start, self.years) + dt.timedelta(days=self.days)


@dataclass(frozen=True)
class ScoreRule:
    """One line of a programme: points for records of some categories."""

    id: str
    name: str
    points: int
    categories: frozenset[str]
    counts_for: Window
    cap: int | None = None  # same sign as points: the most one subject's total can reach
    ends_on_fulfilment: bool = False
    every_days: int = 0  # >0: the points accrue once per started period (monthly arrears)
    illustrative: bool = False

    def clamp(self, total: int) -> int:
        if self.cap is None:
            return total
        return max(total, self.cap) if self.points < 0 else min(total, self.cap)


@dataclass(frozen=True)
class Eligibility:
    min_age: int = 18
    min_residence_years: int = 1


@dataclass(frozen=True)
class Programme:
    id: str
    name: str
    region_prefix: str
    region_name: str
    version: str
    enabled: bool  # the programme's own switch AND the pack's global switch
    base: int
    grades: tuple[Grade, ...]  # best first; the last has min_score None
    rules: tuple[ScoreRule, ...]
    eligibility: Eligibility
    illustrative: bool = False
    note: str = ""
    _by_category: Mapping[str, ScoreRule] = field(
        default_factory=dict, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if not self._by_category:
            by = {c: r for r in self.rules for c in r.categories}
            object.__setattr__(self, "_by_category", by)

    def rule_for(self, category: str) -> ScoreRule | None:
        return self._by_category.get(category)

    def grade_index(self, score: int) -> int:
        for i, g in enumerate(self.grades):
            if g.min_score is None or score >= g.min_score:
                return i
        return len(self.grades) - 1

    def grade_of(self, score: int) -> str:
        return self.grades[self.grade_index(score)].name


@dataclass(frozen=True)
class ScoringCategory:
    """A category that only scoring uses (the reference rule pack lists none of these)."""

    id: str
    name: str
    authority_kinds: frozenset[str]
    legal_basis: str


@dataclass(frozen=True)
class ScoringPack:
    version: str
    enabled: bool  # the global switch: off means no programme scores anyone
    categories: Mapping[str, ScoringCategory]
    programmes: tuple[Programme, ...]

    def programme_for(self, residence_region: str) -> Programme | None:
        """The switched-on programme with the longest prefix of the region code, if any."""
        if not self.enabled:
            return None
        hits = [
            p for p in self.programmes if p.enabled and residence_region.startswith(p.region_prefix)
        ]
        return max(hits, key=lambda p: len(p.region_prefix), default=None)
