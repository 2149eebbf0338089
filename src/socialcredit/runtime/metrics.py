"""Counts kept in memory for ``/metrics``: cheap enough for the screening hot path.

A screening adds one to a plain dict under a lock (about a tenth of a microsecond); the
exposition (``web/metrics.py``) reads a copy at scrape time. The counts are this process's:
with ``--workers 2`` each worker counts its own screenings.
"""

from __future__ import annotations

import threading


class Tally:
    """Counts by label values, safe to add to from the event loop and worker threads."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, ...], int] = {}
        self._lock = threading.Lock()

    def add(self, key: tuple[str, ...], n: int = 1) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + n

    def snapshot(self) -> dict[tuple[str, ...], int]:
        with self._lock:
            return dict(self._counts)


SCREENINGS = Tally()  # (sector, decision) -> screenings answered since the process started
