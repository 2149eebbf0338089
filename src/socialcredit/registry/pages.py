"""The authority clerk's pages: upload a file and watch it, read per-line errors, the batch
history, and a form for one event (fulfilment, withdrawal, correction) on one record.

Everything goes through :mod:`registry.batches` (the JSON API's service), scoped to the
clerk's authority.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from socialcredit.accounts import Clerk, RoleRefused
from socialcredit.errors import InvalidInput, RegistryError
from socialcredit.registry import batches
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
    job = batches.start_job(
        reg, user_id=user.id, authority=authority, data=data, filename=f.filename
    )
    return redirect(f"/clerk/uploads/{job.id}")


@router.get("/clerk/uploads/{job_id}")
def upload_status(job_id: str, request: Request, reg: RegistryDep, user: Clerk) -> HTMLResponse:
    _authority(user)
    job = batches.get_job(job_id, user.id)
    return render(request, "registry/upload.html", {"job": job})


@router.get("/clerk/batches/{batch_id}")
def batch_page(batch_id: int, request: Request, reg: RegistryDep, user: Clerk) -> HTMLResponse:
    b = batches.get_batch(reg, batch_id, authority=_authority(user))
    return render(request, "registry/batch.html", {"batch": b})


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
