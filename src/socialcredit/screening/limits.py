"""Per-key rate limits through the ``limits`` library, shared by every worker and node.

The storage comes from ``SOCIALCREDIT_RATE_LIMIT_URL``: ``memory://`` (the default: this
process only, no dependency) or ``redis://host:port`` (one count per key for the whole
cluster). A key's ``rate_per_minute`` is enforced as a sliding window of two seconds holding
two seconds' worth of screenings (at least one), the burst the old in-process token bucket
allowed.

A shared store is a network round trip, and a screening costs ~0.3 ms of CPU: asking Redis
every time would cost more than the screening (and even the memory storage costs several
times the old bucket). So a process takes tokens in **leases**: one
hit of ``cost = lease`` (a twentieth of the window's allowance) and spends them locally for
at most ``LEASE_S``. Keys with a small allowance (lease 1) ask the store every time, so a
slow key is limited exactly. What a lease costs in accuracy: tokens a process leased and did
not spend before the lease ran out were counted all the same, so a key may get up to one
lease per process fewer screenings in a window than its rate; never more.

When the store cannot be reached the process falls back to counting on its own (memory)
and logs it once a minute: a point of sale keeps working, with per-process limits, until
Redis is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import RateLimiter, SlidingWindowCounterRateLimiter

log = logging.getLogger(__name__)

WINDOW_S = 2
LEASE_S = 0.25
LEASE_PART = 20  # a lease is this fraction of a window's allowance


def window_item(rate_per_minute: int) -> RateLimitItem:
    """``rate_per_minute`` as two seconds' worth per two seconds (at least one)."""
    amount = max(1, round(rate_per_minute * WINDOW_S / 60))
    return RateLimitItemPerSecond(amount, WINDOW_S)


class SharedRateLimiter:
    """``allow(key, rate_per_minute)``: the interface of the old per-process bucket."""

    def __init__(self, url: str = "memory://", clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.shared = not url.startswith("memory://")
        storage = storage_from_string(url)
        if not isinstance(storage, Storage):
            raise ValueError(
                f"rate limit storage {url!r} is asynchronous; use memory:// or redis://"
            )
        self._storage = storage
        self._limiter: RateLimiter = SlidingWindowCounterRateLimiter(self._storage)
        self._local: RateLimiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._items: dict[int, RateLimitItem] = {}
        self._leases: dict[str, list[float]] = {}  # key -> [tokens left, good until]
        self._clock = clock
        self._lock = threading.Lock()  # batch screenings authenticate from worker threads
        self._warned = 0.0
        self.store_failures = 0

    def _item(self, rate_per_minute: int) -> RateLimitItem:
        item = self._items.get(rate_per_minute)
        if item is None:
            item = self._items[rate_per_minute] = window_item(rate_per_minute)
        return item

    def allow(self, key: str, rate_per_minute: int) -> bool:
        now = self._clock()
        with self._lock:
            lease = self._leases.get(key)
            if lease is not None and lease[0] >= 1 and now < lease[1]:
                lease[0] -= 1
                return True
        item = self._item(rate_per_minute)
        size = item.amount // LEASE_PART
        try:
            if size > 1 and self._limiter.hit(item, key, cost=size):
                with self._lock:
                    self._leases[key] = [size - 1, now + LEASE_S]
                return True
            return self._limiter.hit(item, key)
        except Exception as e:  # the shared store is down: count here until it is back
            self.store_failures += 1
            if now - self._warned > 60:
                self._warned = now
                log.error("rate limit store %s unreachable (%s); per-process limits", self.url, e)
            return self._local.hit(item, key)

    def take(self, key: str, rate_per_minute: int, want: int) -> tuple[int, float]:
        """Up to ``want`` screenings now (a batch's rows count one each): how many were
        granted, and the seconds until the rest would be at the key's rate."""
        item = self._item(rate_per_minute)
        per_s = max(rate_per_minute / 60, 1e-9)
        limiter = self._limiter
        for _attempt in range(2):
            try:
                stats = limiter.get_window_stats(item, key)
                granted = max(0, min(want, int(stats.remaining)))
                if granted and not limiter.hit(item, key, cost=granted):
                    granted = 0
                break
            except Exception as e:  # the shared store is down: count here until it is back
                self.store_failures += 1
                now = self._clock()
                if now - self._warned > 60:
                    self._warned = now
                    log.error("rate limit store %s unreachable (%s); per-process", self.url, e)
                limiter, granted = self._local, 0
        rest = want - granted
        return granted, (rest / per_s if rest > 0 else 0.0)


def rate_limiter(url: str) -> SharedRateLimiter:
    return SharedRateLimiter(url)
