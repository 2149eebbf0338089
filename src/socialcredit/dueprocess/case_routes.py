"""Operator routes of due process: the case queue, assignment and decisions, reviewers,
notices and letters, and the audit chain. All need the operator token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from socialcredit.domain.dueprocess import Reviewer
from socialcredit.dueprocess import (
    assignment,
    case_queue,
    cases,
    decisions,
    letters,
    objections,
    outbox,
)
from socialcredit.dueprocess.schemas import (
    GROUNDS,
    LEVELS,
    OUTCOMES,
    CaseOut,
    ReviewerOut,
)
from socialcredit.integrity import audit
from socialcredit.runtime.deps import DbId, OperatorDep, RegistryDep

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "In conflict with the case or reviewer as they stand"}
}

router = APIRouter(prefix="/v1", tags=["due process"])


class ReviewerIn(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=64, description="authority code or 'registry'")
    level: str = Field(
        description="first (objections) or higher (reconsideration)",
        json_schema_extra={"enum": LEVELS},
    )
    subject_id: str | None = Field(default=None, description="the reviewer's own resident ID")


class AssignIn(BaseModel):
    reviewer: str = Field(min_length=1, max_length=64)


class DecisionIn(BaseModel):
    reviewer: str = Field(min_length=1, max_length=64)
    outcome: str = Field(description="upheld or rejected", json_schema_extra={"enum": OUTCOMES})
    reasons: str = Field(min_length=1, max_length=20_000)
    correction: dict[str, Any] | None = Field(
        default=None, description="wrong data: corrected fields (subject_name, amount_owed, ...)"
    )


class ObjectionOnBehalf(BaseModel):
    subject_id: str
    authority: str = Field(min_length=1, max_length=64)
    case_number: str = Field(min_length=1, max_length=128)
    grounds: str = Field(json_schema_extra={"enum": GROUNDS})
    statement: str = Field(min_length=1, max_length=20_000)
    documents: list[str] = Field(default_factory=list, max_length=50)


@router.post("/reviewers", status_code=201, response_model=ReviewerOut, responses=CONFLICT)
def add_reviewer(body: ReviewerIn, reg: RegistryDep, op: OperatorDep) -> dict[str, Any]:
    return assignment.add_reviewer(
        reg, Reviewer(body.id, body.name, body.body, body.level, body.subject_id), op
    )


@router.get("/cases", response_model=list[CaseOut])
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


@router.post("/objections", status_code=201, response_model=CaseOut, responses=CONFLICT)
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


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(case_id: DbId, reg: RegistryDep, _: OperatorDep) -> dict[str, Any]:
    return cases.get_case(reg, case_id)


@router.post("/cases/{case_id}/assign", response_model=CaseOut, responses=CONFLICT)
def assign(case_id: DbId, body: AssignIn, reg: RegistryDep, op: OperatorDep) -> dict[str, Any]:
    return assignment.assign(reg, case_id, body.reviewer, op)


@router.post("/cases/{case_id}/decision", response_model=CaseOut, responses=CONFLICT)
def decide(case_id: DbId, body: DecisionIn, reg: RegistryDep, _: OperatorDep) -> dict[str, Any]:
    """A reviewer's written decision; never on a record of their own."""
    return decisions.decide(
        reg, case_id, body.reviewer, body.outcome, body.reasons, body.correction
    )


@router.get("/notices/{notice_id}/letter", response_class=HTMLResponse)
def letter(notice_id: DbId, reg: RegistryDep, _: OperatorDep) -> HTMLResponse:
    """The printable letter of a notice (for the serving authority)."""
    _, html = outbox.issue_copy(reg, outbox.get_notice(reg, notice_id))  # a new sign-in code
    return HTMLResponse(html)


PDF: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the letter as PDF",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get("/notices/{notice_id}/letter.pdf", response_class=Response, responses=PDF)
def letter_pdf(notice_id: DbId, reg: RegistryDep, _: OperatorDep) -> Response:
    """The letter as PDF (WeasyPrint, A4, CJK fonts), for the serving authority to print."""
    _, html = outbox.issue_copy(reg, outbox.get_notice(reg, notice_id))  # a new sign-in code
    body = letters.pdf(html)
    return Response(body, media_type="application/pdf")


@router.get("/audit/verify")
def verify(reg: RegistryDep, _: OperatorDep, head: str | None = None) -> dict[str, Any]:
    """The audit trail as part of the transparency log: every leaf recomputed from its row,
    every signed head checked (``log verify``). ``head`` (the retired chain's) is a 422."""
    return audit.verify(reg.engine, reg.settings, head).to_dict()
