"""Where the official working-day calendar comes from.

``chinese-calendar`` carries the State Council's announcements up to the last year it knows;
an operator loads a newly announced year from a file (``socialcredit calendar load``), which
the store keeps. :func:`official_calendar` merges the two; years in neither are counted as
weekdays by the domain calendar, which says so in every decision that used them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

from socialcredit.domain.calendar import WorkCalendar
from socialcredit.errors import InvalidInput, Problem


class _NoDatesLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings, so a bad one is reported by field."""


_NoDatesLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def packaged_calendar() -> WorkCalendar:
    holidays = set(chinese_calendar.holidays)
    workdays = set(chinese_calendar.workdays)
    years = {d.year for d in holidays} | {d.year for d in workdays}
    return WorkCalendar.build(holidays, workdays, years, f"chinese-calendar {_version()}")


def _version() -> str:
    return str(getattr(chinese_calendar, "__version__", "?"))


def parse_calendar_file(path: Path) -> WorkCalendar:
    """Read an announced year: YAML or JSON ``{year, holidays: [dates], workdays: [dates]}``.

    ``holidays`` are the official days off that fall on weekdays (or all days off: weekend
    days listed are harmless); ``workdays`` are weekend days made working days.
    """
    try:
        text = path.read_text("utf-8")
    except OSError as e:
        raise InvalidInput.one("file", f"cannot read: {e.strerror}", str(path)) from None
    try:
        doc: Any = (
            json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_NoDatesLoader)
        )
    except (ValueError, yaml.YAMLError) as e:
        raise InvalidInput.one(
            "file", f"not valid {path.suffix or 'YAML'}: {e}", str(path)
        ) from None
    docs = doc if isinstance(doc, list) else [doc]
    problems: list[Problem] = []
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    years: set[int] = set()
    for i, d in enumerate(docs):
        where = f"[{i}]" if isinstance(doc, list) else ""
        if not isinstance(d, dict):
            problems.append(Problem(f"{where or 'document'}", "must be a mapping"))
            continue
        year = d.get("year")
        if not isinstance(year, int) or isinstance(year, bool) or not 1949 <= year <= 2200:
            problems.append(Problem(f"{where}year", "must be a year like 2027", repr(year)))
            continue
        years.add(year)
        for key, into in (("holidays", holidays), ("workdays", workdays)):
            for j, raw in enumerate(_as_list(d.get(key, []))):
                day = _as_date(raw)
                field = f"{where}{key}[{j}]"
                if day is None:
                    problems.append(Problem(field, "is not an ISO date", repr(raw)))
                elif day.year != year:
                    problems.append(Problem(field, f"is not in {year}", day.isoformat()))
                elif key == "workdays" and day.weekday() < 5:
                    problems.append(
                        Problem(field, "an adjusted workday must be a weekend day", day.isoformat())
                    )
                else:
                    into.add(day)
    overlap = holidays & workdays
    for day in sorted(overlap):
        problems.append(Problem("workdays", "is also listed as a holiday", day.isoformat()))
    if problems:
        raise InvalidInput(
            f"calendar file {path} is invalid: " + "; ".join(map(str, problems)), tuple(problems)
        )
    return WorkCalendar.build(holidays, workdays, years, f"file {path.name}")


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _as_date(v: Any) -> dt.date | None:
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return None
    return None


def calendar_from_days(
    rows: Iterable[tuple[dt.date, bool]], years: Iterable[int], source: str
) -> WorkCalendar:
    """Build a calendar from stored (day, is_workday) exceptions for the given years."""
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    for day, is_work in rows:
        (workdays if is_work else holidays).add(day)
    return WorkCalendar.build(holidays, workdays, years, source)
