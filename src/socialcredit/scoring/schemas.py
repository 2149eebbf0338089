"""Response models of the scoring routes."""

from __future__ import annotations

from typing import Any

from socialcredit.runtime.schemas import Out


class ProgrammeOut(Out):
    id: str
    name: str
    region_prefix: str
    region_name: str
    version: str
    in_force: bool


class SubjectScore(Out):
    """The subject's score under one programme, explained item by item, with history."""

    programme: str
    programme_name: str
    region_code: str
    as_of: str
    score: int | float
    grade: str
    explanation: str
    items: list[dict[str, Any]]
