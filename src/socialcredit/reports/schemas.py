"""Response models of the transparency report's routes."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from socialcredit.runtime.schemas import Out


class ReportOut(Out):
    """The year's report: totals, monthly tables (each with its columns and rows), notes and
    the definitions of every figure."""

    report: str
    year: int
    period: dict[str, Any]
    rulepack_version: str
    generated_at: str
    totals: dict[str, Any]
    tables: dict[str, Any]
    notes: list[str]
    definitions: str


CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}
SVG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}}
}
JSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": ReportOut.model_json_schema()}}}
}
HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}}
}


class ScreeningsPerMinute(Out):
    sector: str
    decision: str
    count: int | None = Field(description="null: fewer than min_count (withheld)")


class DashboardOut(Out):
    """Today's live figures as the officials' dashboard shows them (``reports/today.py``):
    aggregates only; a count from 1 to ``min_count`` - 1 is null ("fewer than min_count")."""

    as_of: str = Field(description="UTC, ISO 8601")
    day: str = Field(description="today in the registry's time zone")
    min_count: int
    screenings_per_minute: list[ScreeningsPerMinute]
    new_listings_today: int | None
    removals_today: int | None
    removals_by_reason: dict[str, int | None] = Field(
        description="fulfilled, expired, objection_upheld, withdrawn, repaired"
    )
    objections_open: int | None
    objections_overdue: int | None
    notices_backlog: int | None
    notices_failed: int | None
