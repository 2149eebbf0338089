"""Who a staff member is and what their role lets them touch (pure: no I/O)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A staff role. Each is scoped; none implies another (an operator is not a reviewer)."""

    OPERATOR = "operator"  # administration: users, authorities, relying parties
    CLERK = "clerk"  # submits and corrects records of one authority
    REVIEWER = "reviewer"  # decides objections for one body at one level
    OFFICIAL = "official"  # aggregates only: no personal data
    PARTY_CLERK = "party_clerk"  # screens at the counter for one relying party


REVIEW_LEVELS = ("first", "higher")


@dataclass(frozen=True)
class Scope:
    """What a role is limited to; the fields a role does not use are ``None``."""

    authority: str | None = None
    review_body: str | None = None
    review_level: str | None = None
    party: str | None = None

    def check(self, role: Role) -> list[str]:
        """Reasons this scope does not fit ``role`` (empty when it fits)."""
        need = {
            Role.CLERK: {"authority"},
            Role.REVIEWER: {"review_body", "review_level"},
            Role.PARTY_CLERK: {"party"},
        }.get(role, set())
        problems = [
            f"{role} needs --{f.replace('_', '-')}" for f in sorted(need) if not getattr(self, f)
        ]
        extra = [
            f
            for f in ("authority", "review_body", "review_level", "party")
            if getattr(self, f) and f not in need
        ]
        problems += [f"{role} takes no --{f.replace('_', '-')}" for f in extra]
        if self.review_level and self.review_level not in REVIEW_LEVELS:
            problems.append(f"--review-level must be one of {', '.join(REVIEW_LEVELS)}")
        return problems

    def label(self) -> str:
        if self.authority:
            return self.authority
        if self.review_body:
            return f"{self.review_body}/{self.review_level}"
        return self.party or ""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    scope: Scope
    must_change_password: bool
    totp_enabled: bool
    has_api_token: bool
    created_at: dt.datetime
    expires_at: dt.datetime | None
    disabled_at: dt.datetime | None

    def active(self, now: dt.datetime) -> bool:
        """Not disabled and not past its end (``now`` naive UTC, as stored)."""
        return self.disabled_at is None and (self.expires_at is None or now < self.expires_at)

    @property
    def actor(self) -> str:
        """How the audit log names this user: stable id, then the name for people reading it."""
        return f"user:{self.id}:{self.username}"

    # Scope checks, one per kind of thing a route may touch. An operator passes none of them:
    # administration does not include filing records, deciding cases or screening people.
    def may_file_for(self, authority: str) -> bool:
        return self.role is Role.CLERK and self.scope.authority == authority

    def may_review(self, body: str, level: str) -> bool:
        return (
            self.role is Role.REVIEWER
            and self.scope.review_body == body
            and self.scope.review_level == level
        )

    def may_screen_for(self, party: str) -> bool:
        return self.role is Role.PARTY_CLERK and self.scope.party == party
