"""The API's documentation: one error body, the statuses each operation can answer, the page.

The app answers every error in one shape (:class:`ErrorBody`, mapped in ``web/app.py``).
:func:`error_responses` documents on each operation the statuses its declaration implies
(security: 401/403; parameters or a body: 422; a path parameter: 404; always 500), and a
route adds what else it can answer in its decorator's ``responses=`` (a 409, a 429, a 503,
description only); every error status gets the one body here.

The docs page is Swagger UI 5 from the installed ``swagger-ui-bundle-v2`` (it reads OpenAPI 3.1;
the 1.x bundle's 4.15 could not). The page has no inline script or style: its initialiser is
served from ``/docs/init.js``, so it works under the strict page policy plus
``connect-src 'self'`` (it fetches the schema and, for "Try it out", the API):
``web/csp.py:DOCS_POLICY``. Images come as ``data:`` (the bundle's CSS draws its icons as
``data:`` SVGs), which the page policy allows. Nothing is fetched from elsewhere.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

SWAGGER = "/static/swagger"  # where web/app.py mounts the bundle's files


class ProblemOut(BaseModel):
    """One thing wrong with one input."""

    field: str = Field(description="the field (dotted path) or 'body', 'row', ...")
    reason: str
    value: str | None = Field(default=None, description="the value given, cut at 200 chars")
    line: int | None = Field(default=None, description="the line or row of a file or manifest")


class ErrorBody(BaseModel):
    """Every error the API answers, whatever the status."""

    error: str = Field(description="a stable code: not_found, invalid_input, unauthorized, ...")
    message: str = Field(description="for a person to read")
    problems: list[ProblemOut] = Field(description="per-field problems; empty when none")


DESCRIPTIONS: dict[int, str] = {
    400: "The body could not be parsed (`bad_request`)",
    401: "No credential, or a wrong one: operator token, API key or session (`unauthorized`)",
    403: "Not allowed for this credential (`forbidden`): a sector not served, another's file",
    404: "No such thing (`not_found`)",
    409: "In conflict with what is stored (`conflict`, `calendar_missing`)",
    422: "Invalid input; `problems` names each field (`invalid_input`, ...)",
    429: "Rate limited: retry after `Retry-After` seconds (`rate_limited`)",
    500: "An internal error; it has been logged (`internal`)",
    503: "A dependency is unavailable (e.g. the screening log); retry",
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def error_responses(op: dict[str, Any]) -> dict[int, str]:
    """The error statuses an operation can answer, judged from what it declares: every
    operation may fail (500); one with parameters or a body may be given invalid ones (422);
    one with a body, one that cannot be parsed at all (400); one with a security requirement
    may be refused a credential (401) or a scope (403); one with a path parameter may name
    nothing (404). Anything else a route can answer (a 409
    conflict, a 429 rate limit, a 503 from the log writer, a 404 from its body) it says in its
    own ``responses=``, which are kept; the fuzz stage (tests/e2e/test_api_fuzz.py) holds
    every route to what it documents."""
    codes = {500}
    params = op.get("parameters", [])
    if params or "requestBody" in op:
        codes.add(422)
    if "requestBody" in op:  # a body of another type than declared that cannot be parsed
        codes.add(400)
    if op.get("security"):
        codes |= {401, 403}
    if any(p.get("in") == "path" for p in params):
        codes.add(404)
    return {c: DESCRIPTIONS[c] for c in sorted(codes)}


STAFF_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "A staff user's API token (or, from this page, the session cookie of a "
    "signed-in user, which the browser sends by itself)",
}


def document_errors(doc: dict[str, Any]) -> dict[str, Any]:
    """Every operation's error responses as :class:`ErrorBody`, in place; returns ``doc``."""
    # accounts' dependencies read a cookie or a token themselves: their scheme is named here
    doc.setdefault("components", {}).setdefault("securitySchemes", {})["staffToken"] = STAFF_SCHEME
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(body.pop("$defs", {}))
    schemas["ErrorBody"] = body
    for item in doc.get("paths", {}).values():
        for op in item.values():
            responses = op.setdefault("responses", {})
            for code, text in error_responses(op).items():
                responses.setdefault(str(code), {"description": text})
            for code, resp in responses.items():
                if code[0] in "45":  # FastAPI's own 422 (HTTPValidationError) is not ours
                    resp["content"] = {"application/json": {"schema": ERROR_REF}}
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return doc


def enum_sectors(node: Any, sectors: list[str]) -> None:
    """Every ``sector`` field and parameter as an enum of the rule pack's sectors, in place
    (the pack is data, loaded at start: the models cannot name its sectors themselves)."""
    if isinstance(node, dict):
        prop = node.get("properties", {}).get("sector")
        if isinstance(prop, dict):
            _enum(prop, sectors)
        if node.get("in") == "query" and node.get("name") == "sector":
            _enum(node.setdefault("schema", {}), sectors)
        for v in node.values():
            enum_sectors(v, sectors)
    elif isinstance(node, list):
        for v in node:
            enum_sectors(v, sectors)


def _enum(schema: dict[str, Any], sectors: list[str]) -> None:
    for alt in schema.get("anyOf", [schema]):  # an optional field: the string branch
        if alt.get("type") == "string":
            alt["enum"] = sectors


def install(app: FastAPI) -> None:
    """Serve the documented schema and the docs page (``/docs``, ``/docs/init.js``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            enum_sectors(doc, sorted(app.state.registry.pack.sectors))
            app.openapi_schema = document_errors(doc)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(PAGE.format(title=app.title, swagger=SWAGGER))

    @app.get("/docs/init.js", include_in_schema=False)
    def docs_init() -> Response:
        return Response(INIT_JS, media_type="text/javascript; charset=utf-8")


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}: API</title>
<link rel="icon" type="image/png" href="{swagger}/favicon-32x32.png">
<link rel="stylesheet" href="{swagger}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{swagger}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

# No inline script: a content security policy of script-src 'self' lets this run.
INIT_JS = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
"""
