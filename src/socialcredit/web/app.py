"""The FastAPI application factory and the one place errors become HTTP responses."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from typing import Annotated, Any

import swagger_ui_bundle
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from socialcredit import __version__
from socialcredit.errors import RegistryError
from socialcredit.integrity import audit
from socialcredit.registry import subjects
from socialcredit.runtime.deps import OperatorDep, RegistryDep
from socialcredit.runtime.registry import Registry

log = logging.getLogger(__name__)

# Routers of each capability, each in its own module exposing ``router`` (an APIRouter).
ROUTERS: tuple[str, ...] = (
    "socialcredit.dueprocess.subject_routes",
    "socialcredit.dueprocess.case_routes",
    "socialcredit.screening.routes",
    "socialcredit.screening.alert_routes",
    "socialcredit.screening.health",
    "socialcredit.reports.routes",
    "socialcredit.scoring.routes",
    "socialcredit.integrity.routes",
    "socialcredit.accounts.api",  # accounts (issue 11)
    "socialcredit.accounts.routes",  # accounts pages (issue 11)
    "socialcredit.registry.batch_routes",  # authorities' batches (issue 12)
    "socialcredit.registry.pages",  # the clerk's pages (issue 12)
    "socialcredit.dueprocess.workbench_pages",  # the reviewer's workbench (issue 12)
    "socialcredit.screening.counter",  # the counter page (issue 12)
    "socialcredit.reports.dashboard_pages",  # the officials' dashboard (issue 12)
    "socialcredit.registry.register_routes",  # the public register (issue 12)
)


def create_app(registry: Registry) -> FastAPI:
    app = FastAPI(
        title="socialcredit registry",
        version=__version__,
        description="A national social credit registry that is fast, explainable and fair.",
        docs_url=None,  # served below from the installed swagger-ui bundle: no CDN
        redoc_url=None,
    )
    app.state.registry = registry
    app.mount(
        "/static/swagger",
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="swagger",
    )

    @app.exception_handler(RegistryError)
    async def registry_error(_: Request, exc: RegistryError) -> JSONResponse:
        headers = None
        if exc.status == 429:  # every 429 says when to come back
            headers = {"Retry-After": str(int(getattr(exc, "retry_after", 1) or 1))}
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                "reason": e.get("msg", "invalid"),
                "value": _short(e.get("input")),
            }
            for e in exc.errors()
        ]
        body = {"error": "invalid_input", "message": "the request is invalid", "problems": problems}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own answers (an unparsable body, no such route, a method not allowed) in
        # the house shape, not FastAPI's {"detail": ...}
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        body = {"error": code, "message": str(exc.detail), "problems": []}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        body = {
            "error": "internal",
            "message": "internal error; it has been logged",
            "problems": [],
        }
        return JSONResponse(body, status_code=500)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="socialcredit API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    @app.get("/health", tags=["service"])
    def health(reg: RegistryDep) -> dict[str, Any]:
        """Liveness and what this server runs with."""
        return {
            "status": "ok",
            "version": __version__,
            "rulepack_version": reg.pack.version,
            "calendar": reg.calendar.source,
            "calendar_years": [min(reg.calendar.known_years), max(reg.calendar.known_years)]
            if reg.calendar.known_years
            else [],
            "today": reg.today().isoformat(),
        }

    @app.get("/v1/subjects/{subject_id}", tags=["operator"])
    def subject_file(
        subject_id: str,
        reg: RegistryDep,
        _: OperatorDep,
        on: Annotated[dt.date | None, Query(description="as of this date")] = None,
    ) -> dict[str, Any]:
        """A subject's whole file: records, events, listings and restrictions, explained."""
        d = subjects.subject_file(reg, subject_id, on).to_dict()
        audit.record(
            reg.engine, reg.now(), "operator", "subject.read", subject_id=d["subject"]["id"]
        )
        return d

    for name in ROUTERS:
        app.include_router(importlib.import_module(name).router)
    from socialcredit.web.pages import install as install_pages  # page kit (issue 11)

    install_pages(app)  # page kit: static files, CSP, language switch, errors as pages
    document_errors(app)
    return app


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}
# What any operation may answer besides its own successes: the error handlers above make each
# of these, in the one body shape. Documented on every operation so a client (and the fuzz
# stage) knows every status the API can return.
ERRORS = {
    "400": "the body could not be parsed",
    "401": "no or a wrong credential (operator token, API key or session)",
    "403": "not allowed for this credential",
    "404": "no such thing",
    "409": "conflicts with what is stored",
    "422": "invalid input: `problems` names each field",
    "429": "rate limited: retry after `Retry-After` seconds",
    "503": "a dependency is unavailable (e.g. the screening log); retry",
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message", "problems"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "line": {"type": ["integer", "null"]},
                    "field": {"type": "string"},
                    "value": {"type": ["string", "null"]},
                    "reason": {"type": "string"},
                },
            },
        },
    },
}


def document_errors(app: FastAPI) -> None:
    """Add the house error responses to every operation of the OpenAPI document."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        ref = {"$ref": "#/components/schemas/Error"}
        for path in doc.get("paths", {}).values():
            for op in path.values():
                responses = op.setdefault("responses", {})
                for code, why in ERRORS.items():
                    entry = responses.setdefault(code, {"description": why})
                    entry["content"] = {"application/json": {"schema": ref}}
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def worker_app() -> FastAPI:
    """The app of one ``serve --workers N`` worker (runtime/workers.py): the registry from
    the environment, the index from the snapshot the parent wrote (which it leaves alone)."""
    from socialcredit.runtime.registry import open_registry
    from socialcredit.runtime.server import tune_interpreter
    from socialcredit.runtime.workers import die_with_parent
    from socialcredit.settings import load_settings

    die_with_parent()
    tune_interpreter()
    app = create_app(open_registry(load_settings()))
    app.state.freeze_heap = True
    app.state.save_snapshot = False  # N writers of one snapshot would race
    return app


def _short(v: object) -> str | None:
    if v is None:
        return None
    s = str(v)
    return s if len(s) <= 200 else s[:200] + "..."
