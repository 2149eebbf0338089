"""The authority clerk's pages: upload a file and watch it, read per-line errors, the batch
history, and a form for one event (fulfilment, withdrawal, correction) on one record.

Everything goes through :mod:`registry.batches` (the JSON API's service), scoped to the
clerk's authority.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from socialcredit.accounts import Clerk, RoleRefused
from socialcredit.errors import InvalidInput, RegistryError
from socialcredit.registry import batches, uploads
from socialcredit.runtime.deps import RegistryDep
from socialcredit.web.pages import page_router, redirect, render

router = page_router()


def _authority(user: Any) -> str:
    code = user.scope.authority
    if not code or not user.may_file_for(code):
        raise RoleRefused("this clerk files for no authority")
    return str(code)


def _home(request: Request, reg: Any, user: Any, **extra: Any) -> HTMLResponse:
    authority = _authority(user)
    ctx = {
        "authority": authority,
        "batches": batches.list_batches(reg, authority=authority, limit=50),
        "today": reg.today().isoformat(),
        "reasons": WITHDRAW_REASONS,
        **extra,
    }
    return render(request, "registry/clerk.html", ctx, extra.pop("status_code", 200))


WITHDRAW_REASONS = (
    "creditor_withdrew",
    "no_assets_found",
    "enforcement_suspended",
    "enforcement_terminated",
    "judgment_not_enforced",
    "listed_in_error",
    "other",
)


@router.get("/clerk")
def clerk_home(request: Request, reg: RegistryDep, user: Clerk) -> HTMLResponse:
    return _home(request, reg, user)


@router.post("/clerk/upload")
async def upload(request: Request, reg: RegistryDep, user: Clerk) -> Response:
    authority = _authority(user)
    form = await request.form()
    f = form.get("file")
    if f is None or isinstance(f, str) or not f.filename:
        return _home(request, reg, user, upload_error="nofile", status_code=422)
    data = await f.read()
    uid = uploads.start(reg, user_id=user.id, authority=authority, data=data, filename=f.filename)
    return redirect(f"/clerk/uploads/{uid}")


@router.get("/clerk/uploads/{upload_id}")
def upload_status(upload_id: str, request: Request, reg: RegistryDep, user: Clerk) -> HTMLResponse:
    """An upload's progress; when done, its batch and the first page of its problems."""
    authority = _authority(user)
    job = uploads.get(reg, upload_id, user_id=user.id)
    b = None
    if job.state == "done" and job.batch_id is not None:
        b = batches.get_batch(reg, job.batch_id, authority=authority)
    return render(request, "registry/upload.html", {"job": job, "batch": b, "per_page": PER_PAGE})


PER_PAGE = 500  # problems shown a page; all kept ones are in the API's and the CLI's answer


@router.get("/clerk/batches/{batch_id}")
def batch_page(
    batch_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    reg: RegistryDep,
    user: Clerk,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    b = batches.get_batch(reg, batch_id, authority=_authority(user))
    rejected = b["problems"]["rejected"]
    pages = max(1, -(-len(rejected) // PER_PAGE))
    page = min(max(page, 1), pages)
    ctx = {
        "batch": b,
        "shown": rejected[(page - 1) * PER_PAGE : page * PER_PAGE],
        "page": page,
        "pages": pages,
    }
    return render(request, "registry/batch.html", ctx)


@router.post("/clerk/events")
async def record_event(request: Request, reg: RegistryDep, user: Clerk) -> Response:
    authority = _authority(user)
    form = await request.form()

    def field(name: str) -> str:
        v = form.get(name)
        return v.strip() if isinstance(v, str) else ""

    correction = {k: field(k) for k in ("subject_name", "legal_basis", "decision_date") if field(k)}
    try:
        try:
            day = dt.date.fromisoformat(field("event_date"))
        except ValueError:
            raise InvalidInput.one("event_date", "is not a date", field("event_date")) from None
        report = batches.record_event(
            reg,
            authority=authority,
            case_number=field("case_number"),
            event=field("event"),
            event_date=day,
            reason=field("reason") or None,
            correction=correction or None,
        )
    except InvalidInput as e:
        return _home(request, reg, user, event_error=e, status_code=422)
    except RegistryError as e:
        if e.status == 404:
            return _home(request, reg, user, event_error=e, status_code=404)
        raise
    return _home(request, reg, user, event_report=batches.report_dict(report))
