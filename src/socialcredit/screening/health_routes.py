"""Liveness and readiness, apart (issue 14, finding 7).

``/health/live`` answers 200 while the process serves HTTP at all (restart it if not).
``/health/ready`` answers 200 only when the screening index is loaded and has caught up with
the change feed (503 otherwise, in the house error shape): the load balancer's signal, so a
restarted server gets no screenings until its answers are current.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from socialcredit.errors import RegistryError

router = APIRouter(tags=["service"])


class NotReady(RegistryError):
    status = 503
    code = "not_ready"


@router.get("/health/live")
async def live() -> dict[str, Any]:
    """The process is up and serving HTTP."""
    return {"status": "live"}


@router.get("/health/ready")
async def ready(request: Request) -> dict[str, Any]:
    """The screening index is loaded and current: send screenings here."""
    rt = getattr(request.app.state, "screening", None)
    if rt is None:
        raise NotReady("the screening index is loading")
    ok, why = rt.readiness()
    if not ok:
        raise NotReady(f"not ready: {why}")
    return {"status": "ready"}
