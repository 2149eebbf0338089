"""The public transparency report: aggregates only, no personal data, no token needed.

``GET /v1/reports/{year}`` (JSON), ``.../html`` (the self-contained page with its charts),
``.../csv/{table}`` and ``.../charts/{name}.svg``. Each is a file of the year's published
version (``reports/publication.py``), sent as it is: the report is never computed here, so
no caller can make the server do the work (issue 14, finding 2). A year with no published
report is a 404 that says how to publish one.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from socialcredit.errors import NotFound
from socialcredit.reports.publication import check_year, file_names, published_file
from socialcredit.runtime.deps import RegistryDep

router = APIRouter(prefix="/v1/reports", tags=["transparency"])
_NO_STORE = {"Cache-Control": "public, max-age=60"}


@router.get("/{year}", response_class=FileResponse)
async def report_json(year: str, reg: RegistryDep) -> FileResponse:
    """The published transparency report for a year as JSON (totals, monthly tables,
    definitions)."""
    y = check_year(year)
    p = published_file(reg, y, f"report-{y}.json")
    return FileResponse(p, media_type="application/json", headers=_NO_STORE)


@router.get("/{year}/html", response_class=FileResponse)
async def report_html(year: str, reg: RegistryDep) -> FileResponse:
    """The same report as one self-contained HTML page with SVG charts."""
    y = check_year(year)
    p = published_file(reg, y, f"report-{y}.html")
    return FileResponse(p, media_type="text/html; charset=utf-8", headers=_NO_STORE)


@router.get("/{year}/csv/{table}", response_class=FileResponse)
async def report_csv(year: str, table: str, reg: RegistryDep) -> FileResponse:
    """One table of the report as CSV."""
    y = check_year(year)
    try:
        p = published_file(reg, y, f"{table}.csv")
    except NotFound:
        names = file_names(reg, y, ".csv")
        raise NotFound(f"no table {table!r}; tables: {', '.join(names)}") from None
    return FileResponse(p, media_type="text/csv; charset=utf-8", headers=_NO_STORE)


@router.get("/{year}/charts/{name}.svg", response_class=FileResponse)
async def report_chart(year: str, name: str, reg: RegistryDep) -> FileResponse:
    """One chart of the report as SVG."""
    y = check_year(year)
    try:
        p = published_file(reg, y, f"chart-{name}.svg")
    except NotFound:
        names = file_names(reg, y, ".svg", "chart-")
        raise NotFound(f"no chart {name!r}; charts: {', '.join(names)}") from None
    return FileResponse(p, media_type="image/svg+xml", headers=_NO_STORE)
