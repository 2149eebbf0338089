"""The officials' dashboard: the page (numbers rendered at load, so it works without
JavaScript) and its server-sent events (``/dashboard/events``), read by ``dashboard.js``;
the same figures as JSON for a staff token (``GET /v1/dashboard/figures``). Officials and
operators only; aggregates only (``reports/dashboard.py``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from socialcredit.accounts import Role, User, require_role
from socialcredit.reports import dashboard
from socialcredit.reports.schemas import DashboardOut
from socialcredit.runtime.deps import RegistryDep
from socialcredit.web.pages import page_router, render

router = APIRouter(tags=["officials"])
pages = page_router()
Watcher = Annotated[User, Depends(require_role(Role.OFFICIAL, Role.OPERATOR))]
INTERVAL = 1.0  # seconds between pushes (only a changed figure is pushed)
HEARTBEAT = 15.0  # a comment line keeps proxies from closing an idle stream


@pages.get("/dashboard")
def page(request: Request, reg: RegistryDep, _: Watcher) -> HTMLResponse:
    return render(request, "reports/dashboard.html", {"f": dashboard.figures(reg)})


@router.get(
    "/v1/dashboard/figures",
    response_model=DashboardOut,
    openapi_extra={"security": [{"staffToken": []}]},  # web/openapi.py's scheme
)
def api_figures(reg: RegistryDep, _: Watcher) -> dict[str, object]:
    """Today's figures: new listings, removals by reason (expiries included), objections
    open and overdue, notices waiting and failed, screenings in the last minute."""
    return dashboard.figures(reg)


@pages.get("/dashboard/figures")
def current(reg: RegistryDep, _: Watcher) -> dict[str, object]:
    """The figures as JSON (the same as each event's data)."""
    return dashboard.figures(reg)


@pages.get("/dashboard/events")
async def events(request: Request, reg: RegistryDep, _: Watcher) -> StreamingResponse:
    async def stream() -> AsyncIterator[str]:
        last: str | None = None
        quiet = 0.0
        yield "retry: 3000\n\n"
        while not await request.is_disconnected():
            d = await run_in_threadpool(dashboard.figures, reg)
            data = json.dumps({k: v for k, v in d.items() if k != "as_of"}, ensure_ascii=False)
            if data != last:
                last, quiet = data, 0.0
                yield f"event: figures\ndata: {json.dumps(d, ensure_ascii=False)}\n\n"
            elif quiet >= HEARTBEAT:
                quiet = 0.0
                yield ": still here\n\n"
            await asyncio.sleep(INTERVAL)
            quiet += INTERVAL

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


router.include_router(pages)
