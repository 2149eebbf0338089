"""The subject's own routes (``/v1/me``): sign in with ID + one-time code, read and export the
file, object, ask for reconsideration, apply for repair. Operator tokens and relying-party keys
open nothing here: only a subject's session does."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.responses import Response
from pydantic import BaseModel, Field

from socialcredit.domain.identity import parse_subject_id
from socialcredit.dueprocess import objections, reconsideration, repair, subject_access
from socialcredit.dueprocess.schemas import GROUNDS, CaseOut, CodeSent, OwnFile, SessionOut
from socialcredit.runtime.deps import RegistryDep, subject_bearer

LIMITED: dict[int | str, dict[str, Any]] = {429: {"description": "Too many codes asked for"}}
SIGN_IN: dict[int | str, dict[str, Any]] = {
    401: {"description": "The code is wrong or has expired"},
    429: {"description": "Too many attempts"},
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such record (or case) of this subject"},
    409: {"description": "A case on this record is open"},
}
NO_FILE: dict[int | str, dict[str, Any]] = {404: {"description": "The registry holds no file"}}

router = APIRouter(prefix="/v1/me", tags=["subject"])


def session(reg: RegistryDep, token: Annotated[str | None, Security(subject_bearer)] = None) -> str:
    return subject_access.session_subject(reg, token or "")


SessionDep = Annotated[str, Depends(session)]
OnBehalf = Annotated[
    str | None,
    Query(description="an enterprise you are the legal representative of; default: yourself"),
]


class CodeRequest(BaseModel):
    subject_id: str = Field(min_length=1, max_length=40)


class SessionRequest(BaseModel):
    subject_id: str = Field(min_length=1, max_length=40)
    code: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$")


class ObjectionIn(BaseModel):
    authority: str = Field(min_length=1, max_length=64)
    case_number: str = Field(min_length=1, max_length=128)
    grounds: str = Field(
        description="not_me, wrong_data, should_be_removed, rule_not_applicable",
        json_schema_extra={"enum": GROUNDS},
    )
    statement: str = Field(min_length=1, max_length=20_000)
    documents: list[str] = Field(default_factory=list, max_length=50)


class ReconsiderationIn(BaseModel):
    objection_case_id: int = Field(ge=1, le=2**63 - 1)
    statement: str = Field(min_length=1, max_length=20_000)


class RepairIn(BaseModel):
    authority: str = Field(min_length=1, max_length=64)
    case_number: str = Field(min_length=1, max_length=128)
    commitment: str = Field(min_length=1, max_length=20_000)
    obligations_met: bool


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@router.post("/code", status_code=202, response_model=CodeSent, responses=LIMITED)
def request_code(body: CodeRequest, reg: RegistryDep, request: Request) -> dict[str, Any]:
    """Send a one-time code to the contact registered for this ID (same answer for any ID)."""
    return subject_access.request_code(reg, body.subject_id, _client(request))


@router.post("/session", response_model=SessionOut, responses=SIGN_IN)
def open_session(body: SessionRequest, reg: RegistryDep, request: Request) -> dict[str, Any]:
    """Trade the code for a session token (use it as `Authorization: Bearer <token>`)."""
    return subject_access.open_session(reg, body.subject_id, body.code, _client(request))


@router.get("/file", response_model=OwnFile, responses=NO_FILE)
def my_file(reg: RegistryDep, me: SessionDep, subject_id: OnBehalf = None) -> dict[str, Any]:
    """Everything about you: records, restrictions explained, notices, cases, scores, who
    screened you, and the audit entries about you."""
    return subject_access.own_file(reg, me, subject_id)


@router.get("/export", response_model=OwnFile, responses=NO_FILE)
def export(reg: RegistryDep, me: SessionDep, subject_id: OnBehalf = None) -> Response:
    """The same file as a JSON download."""
    d = subject_access.own_file(reg, me, subject_id, export=True)
    body = json.dumps(d, ensure_ascii=False, indent=2, default=str)
    name = f"credit-file-{d['subject']['id']}.json"
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/objections", status_code=201, response_model=CaseOut, responses=CONFLICT)
def object_to(
    body: ObjectionIn, reg: RegistryDep, me: SessionDep, subject_id: OnBehalf = None
) -> dict[str, Any]:
    """Object to one of your records; decided within the rule pack's deadline."""
    target = subject_id or me
    subject_access.may_see(reg, me, parse_subject_id(target).value)
    by = "subject" if target == me else f"representative:{me}"
    return objections.file_objection(
        reg,
        target,
        body.authority,
        body.case_number,
        body.grounds,
        body.statement,
        body.documents,
        by,
    )


@router.post("/reconsiderations", status_code=201, response_model=CaseOut, responses=CONFLICT)
def reconsider(
    body: ReconsiderationIn, reg: RegistryDep, me: SessionDep, subject_id: OnBehalf = None
) -> dict[str, Any]:
    """Take a rejected objection to a higher body, within the filing window."""
    target = subject_id or me
    subject_access.may_see(reg, me, parse_subject_id(target).value)
    by = "subject" if target == me else f"representative:{me}"
    return reconsideration.file_reconsideration(
        reg, target, body.objection_case_id, body.statement, by
    )


@router.post("/repairs", status_code=201, response_model=CaseOut, responses=CONFLICT)
def apply_for_repair(
    body: RepairIn, reg: RegistryDep, me: SessionDep, subject_id: OnBehalf = None
) -> dict[str, Any]:
    """Apply for credit repair of an administrative-penalty record."""
    target = subject_id or me
    subject_access.may_see(reg, me, parse_subject_id(target).value)
    by = "subject" if target == me else f"representative:{me}"
    return repair.apply_for_repair(
        reg, target, body.authority, body.case_number, body.commitment, body.obligations_met, by
    )
