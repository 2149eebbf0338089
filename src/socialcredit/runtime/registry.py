"""The running registry: settings, the store's engine, the rule pack and the calendar, wired once.

Services take a :class:`Registry`; the web app and the CLI build one with
:func:`open_registry` and pass it down, so nothing reads the environment twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from socialcredit.domain.calendar import WorkCalendar
from socialcredit.domain.rules import RulePack
from socialcredit.rulepacks import load_rulepack
from socialcredit.rulepacks.scoring_config import registry_rulepack
from socialcredit.settings import Settings
from socialcredit.store.calendar_source import packaged_calendar
from socialcredit.store.ports import UnitOfWork


@dataclass
class Registry:
    settings: Settings
    engine: Engine
    pack: RulePack
    calendar: WorkCalendar
    uow: Callable[[], UnitOfWork]
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    # Where the screening index reads from: a streaming replica (SOCIALCREDIT_READ_URL), or
    # None for ``engine`` itself. Writes always go through ``engine`` (the primary).
    reader: Engine | None = None
    # (zone, day, its first instant, the next day's first instant): every screening asks
    _day: tuple[str, dt.date, dt.datetime, dt.datetime] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def read_engine(self) -> Engine:
        """The engine reads of the screening index go to (a replica, or the primary)."""
        return self.engine if self.reader is None else self.reader

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def now(self) -> dt.datetime:
        """The current instant (aware, UTC) from the registry's clock (tests inject one)."""
        return self.clock()

    def today(self) -> dt.date:
        """Today in the registry's time zone: restrictions end at midnight there."""
        now = self.now()
        d = self._day
        if (
            d is not None
            and now.tzinfo is not None
            and d[2] <= now < d[3]
            and d[0] == self.settings.timezone
        ):
            return d[1]
        tz = self.tz
        day = now.astimezone(tz).date()
        start = dt.datetime.combine(day, dt.time(), tz)
        self._day = (tz.key, day, start, dt.datetime.combine(day + dt.timedelta(1), dt.time(), tz))
        return day


def open_registry(settings: Settings, *, migrate_schema: bool = False) -> Registry:
    from socialcredit.store.db import make_engine, migrate
    from socialcredit.store.sql import SqlUnitOfWork

    engine = make_engine(settings.database_url)
    if migrate_schema:
        migrate(engine)
    pack = registry_rulepack(load_rulepack(settings.rulepack))  # + scoring-only categories
    calendar = packaged_calendar()

    def unit_of_work() -> UnitOfWork:
        return SqlUnitOfWork(engine)

    reg = Registry(settings, engine, pack, calendar, unit_of_work)
    if settings.read_url and settings.read_url != settings.database_url:
        reg.reader = make_engine(settings.read_url)
    if settings.clock:
        reg.clock = clock_from_setting(settings.clock)
    reg.calendar = load_stored_calendar(reg)
    return reg


def load_stored_calendar(reg: Registry) -> WorkCalendar:
    """The packaged calendar merged with the years an operator loaded into the store."""
    from socialcredit.store.calendar import stored_calendar

    stored = stored_calendar(reg.engine)
    return packaged_calendar() if stored is None else packaged_calendar().merged(stored)


def clock_from_setting(spec: str) -> Callable[[], dt.datetime]:
    """A clock from ``SOCIALCREDIT_CLOCK``: a fixed ISO instant, or ``file:PATH`` read per call
    (so a test or a demo can move time forward for a running server without restarting it)."""
    from pathlib import Path

    def parse(raw: str) -> dt.datetime:
        t = dt.datetime.fromisoformat(raw.strip())
        return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)

    if spec.startswith("file:"):
        path = Path(spec.removeprefix("file:"))
        return lambda: parse(path.read_text("utf-8"))
    fixed = parse(spec)
    return lambda: fixed
