"""The public register's switch and its refusals, in process (no screening index needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from socialcredit.registry.public_register import mask
from socialcredit.runtime.registry import open_registry
from socialcredit.settings import Settings
from socialcredit.web.app import create_app


class _Client:
    """GETs through the ASGI app itself (the app's lifespan, the screening index, not run)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def get(self, url: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                return await c.get(url, **kw)

        return asyncio.run(go())


def _client(tmp_path: Path, **settings: Any) -> _Client:
    s = Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", **settings)
    return _Client(create_app(open_registry(s, migrate_schema=True)))


def test_the_register_can_be_switched_off(tmp_path: Path) -> None:
    c = _client(tmp_path, public_register=False)
    assert c.get("/v1/register", params={"q": "王建国"}).status_code == 404
    assert c.get("/register").status_code == 404


@pytest.mark.parametrize("q", ["", "王", "%", "王%", "1101", "11010519491231002"])
def test_no_query_lists_anyone_and_every_answer_has_one_shape(tmp_path: Path, q: str) -> None:
    c = _client(tmp_path)
    r = c.get("/v1/register", params={"q": q})
    assert r.status_code == 200
    assert sorted(r.json()) == ["count", "kind", "query", "results"]
    assert r.json()["results"] == []


def test_the_mask_keeps_four_and_four() -> None:
    assert mask("110105194912310021") == "1101**********0021"
