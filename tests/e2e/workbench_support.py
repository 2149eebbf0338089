"""Shared pieces of the workbench tests (issue 12): one server with a user of every role,
records for CAAC and the railway, and helpers to sign in and read tokens.

- ``staff(srv)`` adds ``caac.clerk`` (clerk, CAAC), ``cr.clerk`` (clerk, CR),
  ``reg.reviewer`` (reviewer, registry/first; also a domain reviewer of the same id),
  ``caac.reviewer`` (reviewer, CAAC/first), ``air.clerk`` (party clerk, TEST-AIR),
  ``bank.clerk`` (party clerk, TEST-BANK), ``watcher`` (official) and ``root`` (operator).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.e2e.accounts_support import OPERATOR_TOKEN, PASSWORD, Server
from tests.e2e.conftest import person_id

LISTED = person_id("110108", "19800512", "123")
SMOKER = person_id("310115", "19921103", "246")
OTHER = person_id("440305", "19880808", "357")
UNLISTED = person_id("110101", "19750101", "135")
OP = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}

STAFF: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("caac.clerk", "clerk", ("--authority", "CAAC")),
    ("cr.clerk", "clerk", ("--authority", "CR")),
    ("reg.reviewer", "reviewer", ("--review-body", "registry", "--review-level", "first")),
    ("caac.reviewer", "reviewer", ("--review-body", "CAAC", "--review-level", "higher")),
    ("air.clerk", "party_clerk", ("--party", "TEST-AIR")),
    ("bank.clerk", "party_clerk", ("--party", "TEST-BANK")),
    ("watcher", "official", ()),
    ("root", "operator", ()),
)


def staff(srv: Server) -> dict[str, str]:
    """Add every user of :data:`STAFF`; return their API tokens."""
    # In this process, through the service ``user add`` calls: sixteen CLI starts cost a
    # minute on the shared test machine.
    from socialcredit.accounts import Role, Scope, service
    from socialcredit.runtime.registry import open_registry
    from socialcredit.settings import Settings

    reg = open_registry(Settings(database_url=srv.env["SOCIALCREDIT_DATABASE_URL"]))
    tokens = {}
    for name, role, scope in STAFF:
        opts = dict(zip(scope[::2], scope[1::2], strict=True))
        service.create_user(
            reg,
            username=name,
            display_name=name,
            role=Role(role),
            scope=Scope(
                opts.get("--authority"),
                opts.get("--review-body"),
                opts.get("--review-level"),
                opts.get("--party"),
            ),
            by="test",
            password=PASSWORD,
        )
        tokens[name] = service.issue_token(reg, username=name, by="test")
    reg.engine.dispose()
    r = httpx.post(
        f"{srv.base}/v1/reviewers",
        json={"id": "reg.reviewer", "name": "审查员", "body": "registry", "level": "first"},
        headers=OP,
    )
    assert r.status_code == 201, r.text
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def line(authority: str, case: str, sid: str, name: str, **kw: Any) -> dict[str, Any]:
    category = {"CAAC": "air.prohibited_items", "CR": "rail.smoking_on_emu"}[authority]
    return {
        "authority": authority,
        "case_number": case,
        "category": category,
        "subject_id": sid,
        "subject_name": name,
        "decision_date": "2026-05-06",
        "legal_basis": "NDRC et al. 2018 No. 385, category A (4)",
        **kw,
    }


def jsonl(*rows: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def add_reviewer_account(srv: Server, username: str, *, subject_id: str) -> None:
    """A registry/first reviewer account whose registered reviewer is the person ``subject_id``."""
    from socialcredit.accounts import Role, Scope, service
    from socialcredit.runtime.registry import open_registry
    from socialcredit.settings import Settings

    reg = open_registry(Settings(database_url=srv.env["SOCIALCREDIT_DATABASE_URL"]))
    service.create_user(
        reg,
        username=username,
        display_name=username,
        role=Role.REVIEWER,
        scope=Scope(review_body="registry", review_level="first"),
        by="test",
        password=PASSWORD,
    )
    reg.engine.dispose()
    r = httpx.post(
        f"{srv.base}/v1/reviewers",
        json={
            "id": username,
            "name": username,
            "body": "registry",
            "level": "first",
            "subject_id": subject_id,
        },
        headers=OP,
    )
    assert r.status_code == 201, r.text
