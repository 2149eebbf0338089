"""Abuse counters shared by the capabilities: the ``limits`` library, one limiter a registry.

The storage is ``settings.limits_storage_url`` (``memory://`` per process by default; a
``redis://`` URL shares the counters between server processes and nodes).
"""

from __future__ import annotations

import time

from limits import parse, storage, strategies

from socialcredit.runtime.registry import Registry


class Budget:
    """A named rate (a ``limits`` string like ``3/hour``) on a shared limiter."""

    def __init__(self, limiter: strategies.RateLimiter, name: str, rate: str) -> None:
        self._limiter = limiter
        self._name = name
        self._item = parse(rate)

    def spend(self, *keys: str) -> int | None:
        """Count one use; None if within the budget, else seconds until a use frees up."""
        if self._limiter.hit(self._item, self._name, *keys):
            return None
        reset = self._limiter.get_window_stats(self._item, self._name, *keys)[0]
        return max(1, int(reset - time.time() + 0.999))


def limiter_for(reg: Registry) -> strategies.RateLimiter:
    """The registry's limiter, made on first use (one storage per registry)."""
    got: strategies.RateLimiter | None = reg.__dict__.get("_limiter")
    if got is None:
        store = storage.storage_from_string(reg.settings.limits_storage_url)
        got = strategies.MovingWindowRateLimiter(store)
        reg.__dict__["_limiter"] = got
    return got


def budget(reg: Registry, name: str, rate: str) -> Budget:
    return Budget(limiter_for(reg), name, rate)
