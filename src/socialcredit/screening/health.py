"""Liveness and readiness for a load balancer (HAProxy checks ``/health/ready``).

- ``/health/live``: the process answers HTTP. Nothing else is asked; a live but unready node
  is left alone by the supervisor and skipped by the balancer.
- ``/health/ready``: 200 when this process answers screenings from an index that caught up
  with the change feed of the database it reads (the primary, or a replica) within
  ``SOCIALCREDIT_STALENESS_S``. The watcher's last successful round is the proof that the
  database was reachable then: the check itself runs no SQL, so a balancer polling every
  few hundred milliseconds costs the event loop nothing. Otherwise 503, with why.

A stale node keeps answering screenings from its index (a point of sale is better served by
a decision a few seconds old than by none); readiness only tells the balancer to prefer the
nodes that are current. The primary is not part of readiness: screenings only queue log
rows for it, and the log writer retries until it is back.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["service"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "live"}


def readiness(request: Request) -> tuple[bool, dict[str, Any]]:
    """(ready, the body saying why) for this process."""
    rt = getattr(request.app.state, "screening", None)
    if rt is None or not rt.started or rt.watcher.caught_up is None:
        return False, {"status": "starting", "reason": "the screening index is not loaded yet"}
    bound = rt.reg.settings.staleness_s
    w = rt.watcher
    age = time.monotonic() - w.caught_up
    body: dict[str, Any] = {
        "index_age_s": round(age, 3),
        "staleness_s": bound,
        "feed": rt.screener.feed.marks,
        "index_source": rt.screener.source,  # snapshot: restored from it, then caught up
        "read_database": "unreachable" if w.error else "reachable",
    }
    round_started = getattr(rt, "round_started", None)
    if round_started is not None and time.monotonic() - round_started > bound:
        # a round has run longer than the bound: answers lag the feed by that much
        why_not = "a large change is being applied"
        return False, {"status": "stale", "reason": why_not, **body}
    if age <= bound:
        return True, {"status": "ready", **body}
    why = f"the index last caught up with the change feed {age:.1f} s ago (bound {bound} s)"
    if w.error:
        why += f"; reading the database fails: {w.error}"
    return False, {"status": "stale", "reason": why, **body}


@router.get("/health/ready", responses={503: {"description": "not ready, and why"}})
async def ready(request: Request) -> JSONResponse:
    """Ready to answer screenings with a current index (200), or not (503, with why)."""
    ok, body = readiness(request)
    return JSONResponse(body, status_code=200 if ok else 503)
