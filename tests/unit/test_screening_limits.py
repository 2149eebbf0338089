"""Rate limits through the ``limits`` library (memory storage here; Redis in tests/cluster)."""

from __future__ import annotations

from typing import Any

from socialcredit.screening.limits import SharedRateLimiter, window_item


def test_a_key_gets_two_seconds_worth_at_least_one() -> None:
    assert window_item(300).amount == 10
    assert window_item(6).amount == 1  # 0.2 rounds up to the minimum of one
    assert window_item(300).get_expiry() == 2


def test_a_burst_gets_exactly_the_windows_allowance_with_or_without_leases() -> None:
    for rate, allowance in ((300, 10), (60_000, 2_000)):  # the second is taken in leases
        lim = SharedRateLimiter("memory://")
        got = sum(lim.allow("k", rate) for _ in range(allowance + 100))
        assert got == allowance
        assert lim.allow("other", rate)  # keys do not share


def test_when_the_store_fails_the_process_counts_on_its_own() -> None:
    lim = SharedRateLimiter("memory://")

    def down(*_: Any, **__: Any) -> bool:
        raise ConnectionError("store down")

    lim._limiter.hit = down  # type: ignore[method-assign]
    got = sum(lim.allow("k", 300) for _ in range(20))
    assert got == 10 and lim.store_failures == 20
