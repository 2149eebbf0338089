"""The operator's alerts over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from socialcredit.runtime.deps import OperatorDep, RegistryDep
from socialcredit.screening.alerts import list_alerts

router = APIRouter(tags=["operator"])


@router.get("/v1/alerts")
def alerts(
    reg: RegistryDep,
    _: OperatorDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Alerts raised by the screening servers, newest first (e.g. ``name_refusal_spike``)."""
    return list_alerts(reg, limit=limit)
