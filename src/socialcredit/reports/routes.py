"""The public transparency report: aggregates only, no personal data, no token needed.

``GET /v1/reports/{year}`` (JSON), ``.../html`` (the self-contained page with its charts),
``.../csv/{table}`` and ``.../charts/{name}.svg``. A report is recomputed from the raw events
when anything it reads has changed since the last one (a cheap watermark decides).
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import inspect, text

from socialcredit.errors import InvalidInput, NotFound
from socialcredit.reports.charts import Chart, charts
from socialcredit.reports.figures import build_report
from socialcredit.reports.render import to_csv, to_html
from socialcredit.reports.schemas import CSV, SVG, ReportOut
from socialcredit.runtime.deps import RegistryDep
from socialcredit.runtime.registry import Registry

router = APIRouter(prefix="/v1/reports", tags=["transparency"])
_cache: dict[int, tuple[tuple[Any, ...], dict[str, Any]]] = {}
# The page and its charts as drawn from the cached report they belong to (drawing the nine
# charts takes ~0.2 s: not once per request).
_pages: dict[int, tuple[dict[str, Any], str, dict[str, Chart]]] = {}
_lock = threading.Lock()
_WATERMARK = {
    "records": "count(*)",
    "record_events": "count(*)",
    "screening_log": "count(*)",
    "cases": "count(*), count(decided_on)",
    "notices": "count(*), count(sent_at), count(delivered_at)",
    "residences": "count(*)",
    "scoring_switches": "count(*)",
}


def _watermark(reg: Registry) -> tuple[Any, ...]:
    with reg.engine.connect() as conn:
        conn.execution_options(socialcredit_readonly=True)
        names = set(inspect(conn).get_table_names())
        marks: list[Any] = [reg.today()]
        for table, agg in _WATERMARK.items():
            if table in names:
                marks.append(tuple(conn.execute(text(f"SELECT {agg} FROM {table}")).one()))
        return tuple(marks)


def _year(raw: str) -> int:
    if not raw.isdigit() or len(raw) != 4:
        raise InvalidInput.one("year", "must be a four-digit year", raw)
    return int(raw)


def report_for(reg: Registry, raw_year: str) -> dict[str, Any]:
    year = _year(raw_year)
    mark = _watermark(reg)
    with _lock:
        hit = _cache.get(year)
        if hit is not None and hit[0] == mark:
            return hit[1]
        rep = build_report(reg, year)
        _cache[year] = (mark, rep)
        return rep


def _page(reg: Registry, raw_year: str) -> tuple[str, dict[str, Chart]]:
    rep = report_for(reg, raw_year)
    with _lock:
        hit = _pages.get(rep["year"])
        if hit is None or hit[0] is not rep:
            figs = charts(rep)
            hit = _pages[rep["year"]] = (rep, to_html(rep, csv_href="csv/{}", figs=figs), figs)
        return hit[1], hit[2]


@router.get("/{year}", response_model=ReportOut)
def report_json(year: str, reg: RegistryDep) -> dict[str, Any]:
    """The transparency report for a year as JSON (totals, monthly tables, definitions)."""
    return report_for(reg, year)


@router.get("/{year}/html", response_class=HTMLResponse)
def report_html(year: str, reg: RegistryDep) -> HTMLResponse:
    """The same report as one self-contained HTML page with SVG charts; its CSV links point
    at ``csv/{table}`` beside it."""
    return HTMLResponse(_page(reg, year)[0])


@router.get("/{year}/csv/{table}", response_class=Response, responses=CSV)
def report_csv(year: str, table: str, reg: RegistryDep) -> Response:
    """One table of the report as CSV."""
    rep = report_for(reg, year)
    if table not in rep["tables"]:
        raise NotFound(f"no table {table!r}; tables: {', '.join(rep['tables'])}")
    return Response(to_csv(rep["tables"][table]), media_type="text/csv; charset=utf-8")


@router.get("/{year}/charts/{name}.svg", response_class=Response, responses=SVG)
def report_chart(year: str, name: str, reg: RegistryDep) -> Response:
    """One chart of the report as SVG."""
    svgs = _page(reg, year)[1]
    if name not in svgs:
        raise NotFound(f"no chart {name!r}; charts: {', '.join(svgs)}")
    return Response(svgs[name].svg, media_type="image/svg+xml")
