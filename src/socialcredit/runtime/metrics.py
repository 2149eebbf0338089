"""Counts kept for ``/metrics``: cheap enough for the screening hot path.

A screening adds one to a plain dict under a lock (about a tenth of a microsecond); the
exposition (``web/metrics.py``) reads a copy at scrape time. With ``serve --workers N`` each
worker is its own process, so the workers' counts must meet somewhere: ``web/metrics.py``
then gives the tally a :attr:`Tally.sink`, prometheus-client's counter in multiprocess mode
(a memory-mapped file per worker in ``PROMETHEUS_MULTIPROC_DIR``, summed at scrape time),
and every count goes there as well.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Sink = Callable[[tuple[str, ...], int], None]


class Tally:
    """Counts by label values, safe to add to from the event loop and worker threads."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, ...], int] = {}
        self._lock = threading.Lock()
        self.sink: Sink | None = None

    def add(self, key: tuple[str, ...], n: int = 1) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + n
        sink = self.sink
        if sink is not None:
            sink(key, n)

    def snapshot(self) -> dict[tuple[str, ...], int]:
        with self._lock:
            return dict(self._counts)


SCREENINGS = Tally()  # (sector, decision) -> screenings answered since the process started
