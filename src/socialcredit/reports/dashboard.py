"""The officials' live figures: :func:`reports.today.today` (the same function ``/metrics``
reads), published with small counts withheld as in the report, cached per registry for
:data:`TTL` seconds so the page's stream asks at most once a second whatever the number of
watchers. No figure carries an ID, a name or a case number.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from socialcredit.reports.today import published, today
from socialcredit.runtime.registry import Registry

TTL = 1.0
_cache: dict[int, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def compute(reg: Registry) -> dict[str, Any]:
    """The figures now (uncached), as published."""
    return published(today(reg), reg.settings.report_min_count)


def figures(reg: Registry) -> dict[str, Any]:
    """The figures, computed at most once per :data:`TTL` seconds per registry."""
    key = id(reg)
    hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < TTL:
        return hit[1]
    with _lock:
        hit = _cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < TTL:
            return hit[1]
        d = compute(reg)
        _cache[key] = (time.monotonic(), d)
        return d
