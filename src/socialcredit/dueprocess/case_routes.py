"""Operator routes of due process: the case queue, assignment and decisions, reviewers,
notices and letters, and the audit chain. All need the operator token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from socialcredit.domain.dueprocess import Reviewer
from socialcredit.dueprocess import (
    assignment,
    case_queue,
    cases,
    decisions,
    objections,
    outbox,
)
from socialcredit.integrity import audit
from socialcredit.runtime.deps import DbId, OperatorDep, RegistryDep

router = APIRouter(prefix="/v1", tags=["due process"])


class ReviewerIn(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=64, description="authority code or 'registry'")
    level: str = Field(description="first (objections) or higher (reconsideration)")
    subject_id: str | None = Field(default=None, description="the reviewer's own resident ID")


class AssignIn(BaseModel):
    reviewer: str = Field(min_length=1, max_length=64)


class DecisionIn(BaseModel):
    reviewer: str = Field(min_length=1, max_length=64)
    outcome: str = Field(description="upheld or rejected")
    reasons: str = Field(min_length=1, max_length=20_000)
    correction: dict[str, Any] | None = Field(
        default=None, description="wrong data: corrected fields (subject_name, amount_owed, ...)"
    )


class ObjectionOnBehalf(BaseModel):
    subject_id: str
    authority: str = Field(min_length=1, max_length=64)
    case_number: str = Field(min_length=1, max_length=128)
    grounds: str
    statement: str = Field(min_length=1, max_length=20_000)
    documents: list[str] = Field(default_factory=list, max_length=50)


@router.post("/reviewers", status_code=201)
def add_reviewer(body: ReviewerIn, reg: RegistryDep, op: OperatorDep) -> dict[str, Any]:
    return assignment.add_reviewer(
        reg, Reviewer(body.id, body.name, body.body, body.level, body.subject_id), op
    )


@router.get("/cases")
def queue(
    reg: RegistryDep,
    _: OperatorDep,
    open_only: Annotated[bool, Query(alias="open")] = False,
    overdue: bool = False,
    reviewer: str | None = None,
    subject_id: str | None = None,
) -> list[dict[str, Any]]:
    """The case queue, overdue cases first (flagged ``overdue``)."""
    return case_queue.list_cases(
        reg, open_only=open_only, overdue_only=overdue, reviewer=reviewer, subject_id=subject_id
    )


@router.post("/objections", status_code=201)
def object_on_behalf(body: ObjectionOnBehalf, reg: RegistryDep, op: OperatorDep) -> dict[str, Any]:
    """An objection received in writing, entered by the registry for the subject."""
    return objections.file_objection(
        reg,
        body.subject_id,
        body.authority,
        body.case_number,
        body.grounds,
        body.statement,
        body.documents,
        op,
    )


@router.get("/cases/{case_id}")
def get_case(case_id: DbId, reg: RegistryDep, _: OperatorDep) -> dict[str, Any]:
    return cases.get_case(reg, case_id)


@router.post("/cases/{case_id}/assign")
def assign(case_id: DbId, body: AssignIn, reg: RegistryDep, op: OperatorDep) -> dict[str, Any]:
    return assignment.assign(reg, case_id, body.reviewer, op)


@router.post("/cases/{case_id}/decision")
def decide(case_id: DbId, body: DecisionIn, reg: RegistryDep, _: OperatorDep) -> dict[str, Any]:
    """A reviewer's written decision; never on a record of their own."""
    return decisions.decide(
        reg, case_id, body.reviewer, body.outcome, body.reasons, body.correction
    )


@router.get("/notices/{notice_id}/letter", response_class=HTMLResponse)
def letter(notice_id: DbId, reg: RegistryDep, _: OperatorDep) -> HTMLResponse:
    """The printable letter of a notice (for the serving authority)."""
    return HTMLResponse(outbox.get_notice(reg, notice_id).body_html)


@router.get("/audit/verify")
def verify(
    reg: RegistryDep,
    _: OperatorDep,
    head: Annotated[
        str | None,
        Query(pattern=r"^[0-9]{1,18}:[0-9a-f]{1,128}$", description="SEQ:HASH from audit head"),
    ] = None,
) -> dict[str, Any]:
    """Walk the hash chain; name the first altered or missing entry."""
    return audit.verify(reg.engine, head).to_dict()
