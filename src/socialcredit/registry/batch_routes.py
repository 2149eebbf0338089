"""Authorities' JSON API: submit a batch, read the batch history, record one event.

A clerk's API token (``Authorization: Bearer sca_...``) names the authority; every route is
scoped to it. The body of ``POST /v1/batches`` is the file itself (``Content-Type``
``application/x-ndjson``, ``text/csv`` or ``application/vnd.apache.parquet``, or ``?format=``)
or a multipart form with a ``file`` field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from socialcredit.accounts import Clerk, RoleRefused
from socialcredit.errors import InvalidInput
from socialcredit.registry import batches
from socialcredit.runtime.deps import RegistryDep

router = APIRouter(prefix="/v1", tags=["authorities"])

_TYPES = {
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json": "jsonl",
    "text/csv": "csv",
    "application/vnd.apache.parquet": "parquet",
    "application/octet-stream": None,
}


def _authority(user: Any) -> str:
    code = user.scope.authority
    if not code or not user.may_file_for(code):
        raise RoleRefused("this clerk files for no authority")
    return str(code)


async def _upload(request: Request, fmt: str | None, filename: str | None) -> tuple[bytes, str]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form(max_part_size=batches.MAX_BYTES)
        f = form.get("file")
        if f is None or isinstance(f, str):
            raise InvalidInput.one("file", "a multipart upload needs a `file` field")
        return await f.read(), filename or f.filename or "batch.jsonl"
    kind = fmt or _TYPES.get(ctype)
    name = filename or f"batch.{kind or 'jsonl'}"
    if kind and not name.endswith(f".{kind}"):
        name = f"{name}.{kind}"
    return await request.body(), name


@router.post("/batches", status_code=201)
async def submit(
    request: Request,
    reg: RegistryDep,
    user: Clerk,
    fmt: Annotated[str | None, Query(alias="format", description="jsonl, csv or parquet")] = None,
    filename: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    """Ingest one batch for the clerk's authority: per-line errors as the CLI gives them;
    a line naming another authority refuses the whole file (403, nothing written); the same
    file sent again changes nothing (200, ``already_ingested``)."""
    authority = _authority(user)
    data, name = await _upload(request, fmt, filename)
    report = await run_in_threadpool(
        lambda: batches.submit(reg, authority=authority, data=data, filename=name, fmt=fmt)
    )
    body = batches.report_dict(report)
    return JSONResponse(body, status_code=200 if report.already_ingested else 201)


@router.get("/batches")
def history(
    reg: RegistryDep, user: Clerk, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """The clerk's authority's batches, newest first."""
    return batches.list_batches(reg, authority=_authority(user), limit=limit)


@router.get("/batches/{batch_id}")
def batch(batch_id: int, reg: RegistryDep, user: Clerk) -> dict[str, Any]:
    return batches.get_batch(reg, batch_id, authority=_authority(user))


class EventIn(BaseModel):
    case_number: str = Field(min_length=1, max_length=128)
    event: str = Field(description="fulfilled, withdrawn or corrected")
    event_date: dt.date
    reason: str | None = Field(default=None, description="withdrawn: docs/ingest-format.md")
    correction: dict[str, str] | None = Field(
        default=None, description="corrected: subject_name, legal_basis, decision_date, ..."
    )


@router.post("/records/events", status_code=201)
def record_event(body: EventIn, reg: RegistryDep, user: Clerk) -> dict[str, Any]:
    """Fulfilment, withdrawal or correction of one of the authority's records."""
    report = batches.record_event(
        reg,
        authority=_authority(user),
        case_number=body.case_number,
        event=body.event,
        event_date=body.event_date,
        reason=body.reason,
        correction=body.correction,
    )
    return batches.report_dict(report)
