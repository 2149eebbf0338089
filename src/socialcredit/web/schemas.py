"""Response models of the routes ``web/app.py`` defines itself."""

from __future__ import annotations

from typing import Any, Literal

from socialcredit.runtime.schemas import Out


class Health(Out):
    status: Literal["ok"]
    version: str
    rulepack_version: str
    calendar: str
    calendar_years: list[int]
    today: str


class SubjectFileOut(Out):
    """A subject's whole file as of a day: who they are, their records with events, the
    listings and restrictions each explained, and notes."""

    subject: dict[str, Any]
    as_of: str
    rulepack_version: str
    calendar: str
    records: list[dict[str, Any]]
    listings: list[dict[str, Any]]
    restrictions: list[dict[str, Any]]
    notes: list[str]
