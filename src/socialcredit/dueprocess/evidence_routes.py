"""The reviewer's side of evidence: ``GET /v1/cases/{case_id}/evidence[/{evidence_id}]``.

Evidence is for the subject (the portal, ``/me/evidence/{id}``) and for the reviewers of the
body and level deciding the case; for nobody else, operators included. A reviewer of another
body gets 403. Each read is in the audit log under the reviewer's name.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from socialcredit.accounts import Reviewer as ReviewerUser
from socialcredit.accounts import RoleRefused, record_action
from socialcredit.dueprocess import evidence
from socialcredit.dueprocess.cases import get_case
from socialcredit.dueprocess.schemas import EvidenceOut
from socialcredit.errors import NotFound
from socialcredit.runtime.deps import RegistryDep
from socialcredit.runtime.registry import Registry

router = APIRouter(prefix="/v1/cases", tags=["cases"])
STAFF: dict[str, Any] = {"security": [{"staffToken": []}]}  # a reviewer's API token
FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file as uploaded",
        "content": {
            t: {"schema": {"type": "string", "format": "binary"}}
            for t in ("application/pdf", "image/jpeg", "image/png")
        },
    }
}


def _level(kind: str) -> str:
    return "higher" if kind == "reconsideration" else "first"


def _may_review(reg: Registry, user: Any, case: dict[str, Any]) -> None:
    body = case.get("reviewer_body")
    if not body or not user.may_review(body, _level(case["kind"])):
        raise RoleRefused(
            f"case {case['id']} is for reviewers of {body or 'no body yet'} "
            f"({_level(case['kind'])} level)"
        )


@router.get("/{case_id}/evidence", response_model=list[EvidenceOut], openapi_extra=STAFF)
def list_evidence(case_id: int, reg: RegistryDep, user: ReviewerUser) -> list[dict[str, Any]]:
    """The files attached to a case (names, types, sizes, SHA-256), for its reviewers."""
    case = get_case(reg, case_id)
    _may_review(reg, user, case)
    return evidence.for_case(reg, case_id)


@router.get(
    "/{case_id}/evidence/{evidence_id}",
    response_class=Response,
    responses=FILE,
    openapi_extra=STAFF,
)
def get_evidence(case_id: int, evidence_id: int, reg: RegistryDep, user: ReviewerUser) -> Response:
    """One file as it was uploaded; its SHA-256 in ``X-Content-SHA256``."""
    case = get_case(reg, case_id)
    _may_review(reg, user, case)
    row = evidence.get(reg, evidence_id)
    if row.case_id != case_id:
        raise NotFound(f"evidence {evidence_id} is not part of case {case_id}")
    record_action(
        reg, user, "evidence.read", subject_id=row.subject_id, target=f"evidence:{evidence_id}"
    )
    return Response(
        row.content,
        media_type=row.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{row.id}"',
            "X-Content-SHA256": row.sha256,
            "Cache-Control": "private, no-store",
        },
    )
