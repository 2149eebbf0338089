"""Finding 2 of issue 14: the public report is served from published files; no request can
make the server compute it.

- the routes never call the report builder (it is made to fail the test if they do);
- a year with no published report is a clear 404 in the house shape, saying how to publish;
- ``publish`` writes a version the routes then serve byte for byte, and a new publication
  replaces it atomically.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from socialcredit.reports import figures
from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.settings import Settings


def get(reg: Registry, path: str) -> httpx.Response:
    from socialcredit.web.app import create_app

    async def go() -> httpx.Response:
        t = httpx.ASGITransport(app=create_app(reg))
        async with httpx.AsyncClient(transport=t, base_url="http://test") as c:
            return await c.get(path)

    return asyncio.run(go())


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return open_registry(
        Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}"), migrate_schema=True
    )


def test_the_routes_never_compute_a_report(reg: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    from socialcredit.reports import publication

    real = figures.build_report
    publication.publish(reg, 2025)

    def refuse(*a: Any, **k: Any) -> Any:
        raise AssertionError("the server computed a report")

    monkeypatch.setattr(figures, "build_report", refuse)
    for path in ("/v1/reports/2025", "/v1/reports/2025/html", "/v1/reports/2025/csv/listings",
                 "/v1/reports/2025/charts/blocked.svg"):  # fmt: skip
        r = get(reg, path)
        assert r.status_code == 200, (path, r.text)
    served = get(reg, "/v1/reports/2025").json()
    assert served["totals"] == json.loads(json.dumps(real(reg, 2025)["totals"], default=str))


def test_an_unpublished_year_is_a_clear_404(reg: Registry) -> None:
    r = get(reg, "/v1/reports/2024")
    assert r.status_code == 404
    body = r.json()
    assert set(body) == {"error", "message", "problems"} and body["error"] == "not_found"
    assert "--publish" in body["message"]
    assert get(reg, "/v1/reports/20x4").status_code == 422


def test_a_new_publication_replaces_the_served_version(reg: Registry) -> None:
    from socialcredit.reports import publication

    first = publication.publish(reg, 2025)
    second = publication.publish(reg, 2025)
    assert first != second and publication.published(reg, 2025) == second
    assert first.is_dir()  # an older version stays citable until pruned
