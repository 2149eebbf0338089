"""Authorities' JSON API: submit a batch, read the batch history, record one event.

A clerk's API token (``Authorization: Bearer sca_...``) names the authority; every route is
scoped to it. The body of ``POST /v1/batches`` is the file itself (``Content-Type``
``application/x-ndjson``, ``text/csv`` or ``application/vnd.apache.parquet``, or ``?format=``)
or a multipart form with a ``file`` field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from socialcredit.accounts import Clerk, Role, RoleRefused, User, require_role
from socialcredit.errors import InvalidInput
from socialcredit.registry import batches
from socialcredit.registry.schemas import BatchDetailOut, BatchOut, BatchReport
from socialcredit.runtime.deps import RegistryDep

# A staff user's API token: the scheme web/openapi.py declares (accounts' STAFF_TOKEN).
STAFF: dict[str, Any] = {"security": [{"staffToken": []}]}
router = APIRouter(prefix="/v1", tags=["authorities"])
Format = Literal["jsonl", "csv", "parquet"]
# Reading the history: the clerk (their authority's batches) or an operator (every batch).
Reader = Annotated[User, Depends(require_role(Role.CLERK, Role.OPERATOR))]

_TYPES = {
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json": "jsonl",
    "text/csv": "csv",
    "application/vnd.apache.parquet": "parquet",
    "application/octet-stream": None,
}


def _scope(user: User) -> str | None:
    """The authority whose batches ``user`` reads; ``None`` (all) for an operator."""
    return None if user.role is Role.OPERATOR else _authority(user)


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


@router.post(
    "/batches",
    status_code=201,
    response_model=BatchReport,
    responses={
        200: {"description": "Already ingested: nothing changed", "model": BatchReport},
        403: {"description": "A line names another authority: nothing was written"},
        400: {"description": "A multipart body that cannot be parsed"},
    },
    openapi_extra={
        **STAFF,
        "requestBody": {
            "required": True,
            "description": "The file itself (or a multipart form with a `file` field)",
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        },
    },
)
async def submit(
    request: Request,
    reg: RegistryDep,
    user: Clerk,
    fmt: Annotated[Format | None, Query(alias="format", description="the file's format")] = None,
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


@router.get("/batches", response_model=list[BatchOut], openapi_extra=STAFF)
def history(
    reg: RegistryDep, user: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """The clerk's authority's batches, newest first (an operator's: every batch)."""
    return batches.list_batches(reg, authority=_scope(user), limit=limit)


@router.get(
    "/batches/{batch_id}",
    response_model=BatchDetailOut,
    responses={404: {"description": "No such batch, or another authority's"}},
    openapi_extra=STAFF,
)
def batch(
    batch_id: Annotated[int, Path(ge=1, le=2**31 - 1)], reg: RegistryDep, user: Reader
) -> dict[str, Any]:
    """One batch with its per-line problems as kept (the first 10,000 of each kind and how
    many there were), after a restart and from any worker alike."""
    return batches.get_batch(reg, batch_id, authority=_scope(user))


class EventIn(BaseModel):
    case_number: str = Field(min_length=1, max_length=128)
    event: Literal["fulfilled", "withdrawn", "corrected"]
    event_date: dt.date
    reason: str | None = Field(default=None, description="withdrawn: docs/ingest-format.md")
    correction: dict[str, str] | None = Field(
        default=None, description="corrected: subject_name, legal_basis, decision_date, ..."
    )


@router.post(
    "/records/events",
    status_code=201,
    response_model=BatchReport,
    responses={404: {"description": "A correction of a record that does not exist"}},
    openapi_extra=STAFF,
)
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
