"""Response models of the due-process routes (``case_routes.py``, ``subject_routes.py``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, JsonValue

from socialcredit.domain.dueprocess import OBJECTION_GROUNDS, CaseKind, CaseState, Outcome
from socialcredit.runtime.schemas import Out

# Choice fields as enums in the schema; the services still check them and say why.
GROUNDS: list[JsonValue] = [g.value for g in sorted(OBJECTION_GROUNDS)]
OUTCOMES: list[JsonValue] = [o.value for o in Outcome]
LEVELS: list[JsonValue] = ["first", "higher"]


class CaseOut(Out):
    """A case (objection, reconsideration or repair) with its state and deadline."""

    id: int
    subject_id: str
    kind: CaseKind
    record: str = Field(description="AUTHORITY/CASE-NUMBER of the record it is about")
    grounds: str
    state: CaseState
    overdue: bool
    filed_on: str
    due_on: str
    reviewer: str | None = None
    decided_on: str | None = None
    outcome: Outcome | None = None


class ReviewerOut(Out):
    id: str
    name: str
    body: str
    level: Literal["first", "higher"]


class CodeSent(Out):
    status: str = Field(description="the same answer whether or not the ID has a contact")
    expires_in_seconds: int


class SessionOut(Out):
    token: str = Field(description="use as `Authorization: Bearer <token>`")
    subject_id: str
    expires_at: str


class OwnFile(Out):
    """The subject's whole file (as ``GET /v1/subjects/{id}``) with notices, cases, who
    screened them, scores and the audit entries about them."""

    subject: dict[str, Any]
    as_of: str
    records: list[dict[str, Any]]
    restrictions: list[dict[str, Any]]
    notices: list[dict[str, Any]]
    cases: list[dict[str, Any]]
    screenings: list[dict[str, Any]]


class AuditVerdict(Out):
    ok: bool
    entries: int
    head: str = Field(description="SEQ:HASH of the last entry")
    first_bad_seq: int | None
    problem: str | None


class EvidenceOut(Out):
    """A file attached to a case, without its bytes."""

    id: int
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_at: str
