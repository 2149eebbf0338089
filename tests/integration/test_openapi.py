"""The OpenAPI document and the error body: what a client (and Swagger UI) reads.

``client``: the app over a fresh SQLite registry, without its lifespan (no screening index is
needed to serve the document or to answer an unknown path).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from socialcredit.runtime.registry import open_registry
from socialcredit.settings import Settings
from socialcredit.web.app import create_app

with warnings.catch_warnings():
    # starlette asks for its httpx fork; the test client works the same with httpx.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Any]:
    reg = open_registry(
        Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", operator_token="op"),
        migrate_schema=True,
    )
    yield TestClient(create_app(reg))
    reg.engine.dispose()


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def test_every_operation_documents_its_answer_and_its_errors(client: Any) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's default 422 shape is not ours
    assert set(schemas["ErrorBody"]["required"]) == {"error", "message", "problems"}
    for method, path, op in operations(doc):
        ok = [c for c in op["responses"] if c.startswith("2")]
        assert ok, (method, path)
        content = op["responses"][ok[0]].get("content", {})
        assert content and all(v.get("schema") is not None for v in content.values()), (
            method,
            path,
        )
        errors = {c: r for c, r in op["responses"].items() if c[0] in "45"}
        assert "500" in errors, (method, path)
        for code, r in errors.items():
            ref = r["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/ErrorBody", (method, path, code)
        if "security" in op:
            assert "401" in errors, (method, path)
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            assert "404" in errors, (method, path)


def test_authorize_schemes_and_who_needs_which(client: Any) -> None:
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["operator"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["operator"]["description"],
    }
    assert schemes["relyingPartyKey"]["in"] == "header"
    assert schemes["relyingPartyKey"]["name"] == "X-API-Key"
    security = {(m, p): op.get("security") for m, p, op in operations(doc)}
    assert security[("GET", "/v1/subjects/{subject_id}")] == [{"operator": []}]
    assert security[("GET", "/metrics")] == [{"operator": []}]
    assert security[("GET", "/v1/me/file")] == [{"subjectSession": []}]
    parties = [{"relyingPartyKey": []}, {"relyingPartyBearer": []}]
    assert security[("POST", "/v1/screenings")] == parties
    assert sorted(map(str, security[("POST", "/v1/screenings/batch")] or [])) == sorted(
        map(str, parties)
    )
    assert security[("GET", "/health")] is None and security[("GET", "/v1/log/head")] is None


def test_choice_fields_are_enums(client: Any) -> None:
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    screening = doc["paths"]["/v1/screenings"]["post"]["requestBody"]["content"]
    sectors = screening["application/json"]["schema"]["properties"]["sector"]["enum"]
    assert "flight" in sectors and "rail.standard" in sectors
    assert set(schemas["DecisionIn"]["properties"]["outcome"]["enum"]) == {"upheld", "rejected"}
    assert set(schemas["ReviewerIn"]["properties"]["level"]["enum"]) == {"first", "higher"}
    grounds = set(schemas["ObjectionIn"]["properties"]["grounds"]["enum"])
    assert grounds == {"not_me", "wrong_data", "should_be_removed", "rule_not_applicable"}
    assert set(schemas["CaseOut"]["properties"]["state"]["$ref"].split("/")[-1:]) == {"CaseState"}


def test_unknown_paths_and_methods_answer_the_house_shape(client: Any) -> None:
    r = client.get("/no/such/thing")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert set(r.json()) == {"error", "message", "problems"}
    r = client.delete("/health")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    assert r.headers["allow"] == "GET"
    r = client.get("/static/swagger/nope.js")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.get("/v1/subjects/12345", headers={"Authorization": "Bearer op"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "subject_id"


def test_docs_page_has_no_inline_script(client: Any) -> None:
    page = client.get("/docs").text
    assert "<script>" not in page and "<style" not in page and "http" not in page
    assert '<script src="/docs/init.js">' in page
    js = client.get("/docs/init.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in js.text


def test_each_operation_documents_the_errors_it_can_answer(client: Any) -> None:
    doc = client.get("/openapi.json").json()

    def errors(method: str, path: str) -> set[str]:
        return {c for c in doc["paths"][path][method]["responses"] if c[0] in "45"}

    assert errors("get", "/health") == {"500"}
    assert errors("get", "/metrics") == {"401", "403", "500"}
    assert errors("get", "/v1/register") == {"404", "422", "429", "500"}
    assert errors("get", "/v1/batches/{batch_id}") == {"401", "403", "404", "422", "500"}
    assert errors("post", "/v1/batches") == {"400", "401", "403", "422", "500"}
    assert errors("post", "/v1/records/events") == {"400", "401", "403", "404", "422", "500"}
    assert errors("get", "/v1/dashboard/figures") == {"401", "403", "500"}
    assert "409" in errors("post", "/v1/objections")  # declared by the route
    for method, path, op in operations(doc):
        if "security" not in op:
            assert "401" not in errors(method.lower(), path) or path == "/v1/me/session", path


def test_the_late_routes_have_response_models(client: Any) -> None:
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]

    def ok(method: str, path: str, code: str = "200") -> Any:
        return doc["paths"][path][method]["responses"][code]["content"]["application/json"]

    assert ok("post", "/v1/batches", "201")["schema"]["$ref"].endswith("/BatchReport")
    assert ok("get", "/v1/batches")["schema"]["items"]["$ref"].endswith("/BatchOut")
    detail = ok("get", "/v1/batches/{batch_id}")["schema"]["$ref"].split("/")[-1]
    assert schemas[detail]["properties"]["problems"]["$ref"].endswith("/KeptProblems")
    assert ok("post", "/v1/records/events", "201")["schema"]["$ref"].endswith("/BatchReport")
    assert ok("get", "/v1/register")["schema"]["$ref"].endswith("/RegisterOut")
    assert ok("get", "/v1/dashboard/figures")["schema"]["$ref"].endswith("/DashboardOut")
    event = schemas["EventIn"]["properties"]["event"]
    assert set(event["enum"]) == {"fulfilled", "withdrawn", "corrected"}
    body = doc["paths"]["/v1/batches"]["post"]["requestBody"]["content"]
    assert {"application/x-ndjson", "text/csv", "multipart/form-data"} <= set(body)
    assert doc["paths"]["/v1/batches"]["post"]["security"] == [{"staffToken": []}]
