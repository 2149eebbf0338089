"""Response models of the accounts JSON API (``accounts/api.py``)."""

from __future__ import annotations

from socialcredit.accounts.model import Role
from socialcredit.runtime.schemas import Out

STAFF_TOKEN = "staffToken"  # the security scheme web/openapi.py declares for user API tokens


class UserOut(Out):
    id: int
    username: str
    display_name: str
    role: Role
    authority: str | None
    review_body: str | None
    review_level: str | None
    party: str | None
    totp_enabled: bool
    has_api_token: bool
    created_at: str
    expires_at: str | None
    disabled: bool


class BootstrapOut(Out):
    user: UserOut
    password: str
    api_token: str
