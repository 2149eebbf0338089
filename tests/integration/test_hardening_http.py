"""Finding 4 of issue 14, pinned case by case (the fuzz stage finds them at random): numbers
past 64 bits, a malformed audit head and Starlette's own errors are clear 4xx answers in the
one error shape, never a 500 or ``{"detail": ...}``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.settings import Settings
from socialcredit.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

AUTH = {"Authorization": "Bearer op-token"}
HOUSE = {"error", "message", "problems"}
HUGE = "9223372036854775808"  # 2**63


@pytest.fixture
def api(db_url: str) -> Iterator[TestClient]:
    reg: Registry = open_registry(
        Settings(database_url=db_url, operator_token="op-token"), migrate_schema=True
    )
    yield TestClient(create_app(reg), raise_server_exceptions=False)
    reg.engine.dispose()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/v1/cases/{HUGE}", None),
        ("GET", f"/v1/notices/{HUGE}/letter", None),
        ("POST", f"/v1/cases/{HUGE}/assign", {"reviewer": "r"}),
        ("POST", f"/v1/cases/{HUGE}/decision", {"reviewer": "r", "outcome": "x", "reasons": "r"}),
        ("GET", "/v1/audit/verify?head=abc", None),
        ("GET", "/v1/audit/verify?head=99999999999999999999999:ab", None),
    ],
)
def test_out_of_range_numbers_and_bad_heads_are_422(
    api: TestClient, method: str, path: str, body: dict[str, str] | None
) -> None:
    r = api.request(method, path, json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert set(r.json()) == HOUSE


def test_a_reconsideration_of_a_case_past_64_bits_is_422(api: TestClient) -> None:
    r = api.post(
        "/v1/me/reconsiderations",
        json={"objection_case_id": int(HUGE), "statement": "s"},
        headers={"Authorization": "Bearer nobody"},
    )
    assert r.status_code in (401, 422) and set(r.json()) == HOUSE  # no 500 either way


def test_starlette_errors_have_the_house_shape(api: TestClient) -> None:
    unparsable = api.post(
        "/v1/me/code", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    for r in (
        unparsable,
        api.get("/v1/no-such-route"),
        api.delete("/health"),
        api.get("/v1/cases/1", headers={"Authorization": "Bearer 操作员".encode()}),  # non-ASCII
    ):
        assert r.status_code < 500 and set(r.json()) == HOUSE, (r.status_code, r.text)
