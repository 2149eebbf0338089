"""``Registry.today`` remembers the current day, and still turns at midnight in its zone."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialcredit.runtime.registry import Registry
from socialcredit.settings import Settings


def _registry(times: list[dt.datetime], zone: str = "Asia/Shanghai") -> Registry:
    it = iter(times)
    none: Any = None
    return Registry(Settings(timezone=zone), none, none, none, none, clock=lambda: next(it))


def test_the_day_turns_at_midnight_in_the_registry_zone_not_utc() -> None:
    utc = dt.UTC
    times = [
        dt.datetime(2026, 5, 1, 3, 0, tzinfo=utc),  # 11:00 in Beijing
        dt.datetime(2026, 5, 1, 15, 59, 59, 999999, tzinfo=utc),  # 23:59:59.999999
        dt.datetime(2026, 5, 1, 16, 0, tzinfo=utc),  # midnight
        dt.datetime(2026, 5, 1, 15, 0, tzinfo=utc),  # a clock set back
        dt.datetime(2026, 5, 3, 0, 0, tzinfo=utc),
    ]
    reg = _registry(times)
    got = [reg.today() for _ in times]
    assert got == [dt.date(2026, 5, 1), dt.date(2026, 5, 1), dt.date(2026, 5, 2),
                   dt.date(2026, 5, 1), dt.date(2026, 5, 3)]  # fmt: skip


def test_a_changed_zone_and_a_naive_clock_are_answered_afresh() -> None:
    t = dt.datetime(2026, 5, 1, 20, 0, tzinfo=dt.UTC)
    reg = _registry([t, t, t.replace(tzinfo=None)])
    assert reg.today() == dt.date(2026, 5, 2)  # 04:00 in Beijing
    reg.settings.timezone = "UTC"
    assert reg.today() == dt.date(2026, 5, 1)
    assert reg.today() == t.replace(tzinfo=None).astimezone(reg.tz).date()
