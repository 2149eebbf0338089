"""The public register over HTTP: ``GET /v1/register?q=`` (JSON) and the page ``/register``.
No account needed; off when ``SOCIALCREDIT_PUBLIC_REGISTER=false`` (404); rate-limited per
client address (429 with ``Retry-After``). Service: ``registry/public_register.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from socialcredit.registry import public_register as pr
from socialcredit.registry.schemas import RegisterOut
from socialcredit.runtime.deps import RegistryDep
from socialcredit.runtime.registry import Registry
from socialcredit.web.pages import page_router, render

router = APIRouter(tags=["public register"])
pages = page_router()
QueryParam = Annotated[str, Query(max_length=100, description="a whole name or a whole ID")]


def _search(reg: Registry, request: Request, q: str) -> dict[str, Any]:
    if not reg.settings.public_register:
        raise pr.RegisterClosed("the public register is not published on this server")
    s = reg.settings
    client = request.client.host if request.client else "unknown"
    pr.limiter(s.ratelimit_storage_url, s.register_limit).hit(client)
    return pr.search(reg, q)


@router.get(
    "/v1/register",
    response_model=RegisterOut,
    responses={
        404: {"description": "The register is not published on this server"},
        429: {"description": "Too many searches from this address: retry after `Retry-After`"},
    },
)
def register_json(request: Request, reg: RegistryDep, q: QueryParam = "") -> Response:
    """Listings in force for one whole name or one whole ID (ID masked); same shape always."""
    try:
        return JSONResponse(_search(reg, request, q))
    except pr.RegisterLimited as e:
        return JSONResponse(
            e.to_dict(), status_code=429, headers={"Retry-After": str(e.retry_after)}
        )


@pages.get("/register")
def register_page(request: Request, reg: RegistryDep, q: QueryParam = "") -> HTMLResponse:
    if not reg.settings.public_register:
        raise pr.RegisterClosed("the public register is not published on this server")
    if not q.strip():
        return render(request, "registry/register.html", {"found": None, "q": ""})
    try:
        found = _search(reg, request, q)
    except pr.RegisterLimited as e:
        resp = render(request, "registry/register.html", {"limited": True, "q": q}, 429)
        resp.headers["Retry-After"] = str(e.retry_after)
        return resp
    return render(request, "registry/register.html", {"found": found, "q": q})


router.include_router(pages)
