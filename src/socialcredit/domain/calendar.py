"""Working days on China's official calendar.

The calendar data (holidays, and weekend days made workdays to bridge them) is passed in:
this module reads nothing. For a year with no data it falls back to Monday-Friday and says
so: every answer carries the set of years it had to guess, so a decision built on it can
tell the subject that its dates count weekdays only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Counted:
    """A date computed on the calendar, with the years for which weekdays were assumed."""

    day: dt.date
    weekday_only_years: frozenset[int] = frozenset()


@dataclass(frozen=True)
class WorkCalendar:
    """Official non-working days (``holidays``) and adjusted working days (``workdays``)."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    known_years: frozenset[int] = frozenset()
    source: str = "none"
    _cache: dict[object, Counted] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        holidays: Iterable[dt.date],
        workdays: Iterable[dt.date],
        known_years: Iterable[int],
        source: str,
    ) -> WorkCalendar:
        return cls(frozenset(holidays), frozenset(workdays), frozenset(known_years), source)

    def merged(self, other: WorkCalendar) -> WorkCalendar:
        """This calendar with ``other``'s years added (``other`` wins for years it knows)."""
        keep_h = {d for d in self.holidays if d.year not in other.known_years}
        keep_w = {d for d in self.workdays if d.year not in other.known_years}
        return WorkCalendar(
            frozenset(keep_h | other.holidays),
            frozenset(keep_w | other.workdays),
            self.known_years | other.known_years,
            f"{self.source}+{other.source}",
        )

    def knows(self, year: int) -> bool:
        return year in self.known_years

    def is_workday(self, day: dt.date) -> bool:
        if day.year in self.known_years:
            if day in self.workdays:
                return True
            if day in self.holidays:
                return False
        return day.weekday() < 5

    def add_working_days(self, start: dt.date, n: int) -> Counted:
        """The n-th working day after ``start`` (``start`` itself not counted)."""
        key = ("add", start, n)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        day, guessed, left = start, set(), n
        while left > 0:
            day += ONE_DAY
            if day.year not in self.known_years:
                guessed.add(day.year)
            if self.is_workday(day):
                left -= 1
        out = Counted(day, frozenset(guessed))
        self._cache[key] = out
        return out

    def first_workday_on_or_after(self, day: dt.date) -> Counted:
        guessed = set()
        while True:
            if day.year not in self.known_years:
                guessed.add(day.year)
            if self.is_workday(day):
                return Counted(day, frozenset(guessed))
            day += ONE_DAY

    def next_monthly_publication(self, day: dt.date) -> Counted:
        """The first working day of the first month after ``day``'s month.

        Lists are published on the first working day of each month, of a month strictly later
        than the decision: a decision taken on or before this month's publication day (even on
        the 1st, or on a weekend just before it) waits for next month's list, so publication
        always comes after the decision.
        """
        y, m = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        return self.first_workday_on_or_after(dt.date(y, m, 1))
