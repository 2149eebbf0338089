"""Response models of the transparency report's routes."""

from __future__ import annotations

from typing import Any

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
