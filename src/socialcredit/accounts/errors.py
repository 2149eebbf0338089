"""Errors of the accounts capability, in the registry's one hierarchy (``errors.py``)."""

from __future__ import annotations

from socialcredit.errors import Conflict, Forbidden, NotFound, RateLimited, RegistryError


class NotAuthenticated(RegistryError):
    """No valid session or token: pages redirect to sign-in, the JSON API answers 401."""

    status = 401
    code = "unauthorized"


class BadCredentials(NotAuthenticated):
    """Wrong user name, password or one-time code (which of them is never said)."""

    code = "bad_credentials"


class PasswordChangeRequired(RegistryError):
    """A page for a user still holding a one-time password: they are sent to change it."""

    status = 403
    code = "password_change_required"


class LockedOut(RateLimited):
    """Too many failed sign-ins for this account or address; ``retry_after`` seconds to wait."""

    code = "locked_out"


class RoleRefused(Forbidden):
    """Signed in, but the role or its scope does not allow this."""

    code = "forbidden_role"


class CsrfRefused(Forbidden):
    """An unsafe request without the session's CSRF token."""

    code = "csrf_failed"


__all__ = [
    "BadCredentials",
    "Conflict",
    "CsrfRefused",
    "LockedOut",
    "NotAuthenticated",
    "NotFound",
    "PasswordChangeRequired",
    "RoleRefused",
]
