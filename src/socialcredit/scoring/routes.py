"""Scoring over HTTP: which programmes are in force (public), a subject's scores (operator)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from socialcredit import scoring
from socialcredit.runtime.deps import OperatorDep, RegistryDep
from socialcredit.scoring.schemas import ProgrammeOut, SubjectScore

router = APIRouter(tags=["scoring"])


@router.get("/v1/scores/programmes", response_model=list[ProgrammeOut])
def programmes(reg: RegistryDep) -> list[dict[str, Any]]:
    """The regional scoring programmes and whether each is in force (public)."""
    return scoring.programmes(reg)


@router.get(
    "/v1/subjects/{subject_id}/scores", tags=["operator"], response_model=list[SubjectScore]
)
def subject_scores(
    subject_id: str,
    reg: RegistryDep,
    _: OperatorDep,
    on: Annotated[dt.date | None, Query(description="as of this date")] = None,
) -> list[dict[str, Any]]:
    """The subject's score under their region's programme, explained, with history."""
    return scoring.subject_scores(reg, subject_id, on or reg.today())
