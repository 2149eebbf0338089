"""Who is acting: FastAPI dependencies that resolve the signed-in **user** and check roles.

Use them as ``Annotated`` aliases, as the rest of ``web/deps.py`` does::

    from socialcredit.accounts.deps import CurrentUser, require_role, Reviewer

    @router.get("/v1/cases/{case_id}")
    def case(case_id: int, user: Reviewer) -> ...:       # reviewers only (403 for others)
        if not user.may_review(case.body, case.level): raise RoleRefused(...)

    @router.post("/v1/batches")
    def submit(user: Annotated[User, Depends(require_role(Role.CLERK))]) -> ...:

A user is found, in order, from ``Authorization: Bearer sca_...`` (their API token) or the
session cookie. No credential, a wrong token, or a disabled or expired account: 401 (pages
redirect to sign-in instead, see ``web/pages.py``). The wrong role: 403. A cookie-authenticated
unsafe request (POST, PUT, PATCH, DELETE) must also carry the session's CSRF token, in the
form field ``csrf_token`` or the ``X-CSRF-Token`` header; a token-authenticated one need not
(no browser sends it by itself). The old single operator token is not a user: routes that
take ``OperatorDep`` keep it; new routes name a user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from socialcredit.accounts import sessions
from socialcredit.accounts.errors import (
    NotAuthenticated,
    PasswordChangeRequired,
    RoleRefused,
)
from socialcredit.accounts.model import Role, User
from socialcredit.accounts.service import get_user, user_for_token, utcnow
from socialcredit.errors import NotFound
from socialcredit.integrity import audit
from socialcredit.runtime.deps import get_registry
from socialcredit.runtime.registry import Registry
from socialcredit.web import csrf

_UNSET = object()


def _queue_cookie(request: Request, value: str) -> None:
    request.state.set_cookies = [*getattr(request.state, "set_cookies", ()), value]


def _cookie(request: Request, name: str, value: str, max_age: int) -> str:
    reg: Registry = request.app.state.registry
    secure = reg.settings.cookie_secure
    if secure is None:
        secure = request.url.scheme == "https"
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax", f"Max-Age={max_age}"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def current_session(request: Request) -> sessions.Session | None:
    """The live session named by the request's cookie, or ``None`` (cached per request)."""
    cached = getattr(request.state, "session", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    reg: Registry = request.app.state.registry
    found = None
    cookie = request.cookies.get(sessions.COOKIE)
    if cookie:
        raw = sessions.unsign(reg, cookie)
        found = sessions.load(reg, raw) if raw else None
    request.state.session = found
    return found


def use_session(request: Request, session: sessions.Session | None) -> None:
    """Make ``session`` the request's session and send its cookie (``None`` clears it)."""
    request.state.session = session
    reg: Registry = request.app.state.registry
    if session is None:
        _queue_cookie(request, _cookie(request, sessions.COOKIE, "", 0))
        return
    max_age = int((session.expires_at - utcnow(reg)).total_seconds())
    _queue_cookie(
        request, _cookie(request, sessions.COOKIE, sessions.sign(reg, session.raw_id), max_age)
    )


def session_for_form(request: Request) -> sessions.Session:
    """The request's session, or a new anonymous one: a form needs a CSRF token to carry."""
    s = current_session(request)
    if s is None:
        s = sessions.create(request.app.state.registry)
        use_session(request, s)
    return s


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request without the session's CSRF token (see ``web/csrf.py``)."""
    s = current_session(request)
    await csrf.verify(request, s.csrf_token if s is not None else None)


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if not auth or not auth.lower().startswith("bearer "):
        return None
    return auth[7:].strip()


async def optional_user(request: Request) -> User | None:
    """The acting user, or ``None`` when there is no credential at all."""
    cached = getattr(request.state, "user", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    reg = get_registry(request)
    user: User | None = None
    token = _bearer(request)
    if token is not None:
        user = user_for_token(reg, token)
        if user is None:
            raise NotAuthenticated("the API token is wrong, disabled or expired")
    else:
        s = current_session(request)
        if s is not None and s.signed_in and s.user_id is not None:
            try:
                found = get_user(reg, user_id=s.user_id)
            except NotFound:
                found = None
            if found is not None and found.active(utcnow(reg)):
                user = found
                await check_csrf(request)
    request.state.user = user
    return user


# Pages a user who still has a one-time password may open: the rest send them to change it.
PASSWORD_CHANGE_PATHS = ("/account", "/logout")


async def current_user(request: Request) -> User:
    user = await optional_user(request)
    if user is None:
        raise NotAuthenticated("sign in, or send `Authorization: Bearer <your API token>`")
    if (
        user.must_change_password
        and getattr(request.state, "page", False)
        and not request.url.path.startswith(PASSWORD_CHANGE_PATHS)
    ):
        raise PasswordChangeRequired("choose your own password first")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def require_role(*roles: Role) -> Callable[..., Any]:
    """A dependency returning the acting user if their role is one of ``roles``, else 403.

    Roles are not ranked: ``require_role(Role.REVIEWER)`` refuses an operator too. Scope (which
    authority, body or party) is the route's to check with ``User.may_file_for`` and friends.
    """
    allowed = frozenset(roles)

    async def dependency(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise RoleRefused(f"this needs the role {names}; you are {user.role.value}")
        return user

    dependency.__name__ = "require_" + "_or_".join(sorted(r.value for r in allowed))
    return dependency


Operator = Annotated[User, Depends(require_role(Role.OPERATOR))]
Clerk = Annotated[User, Depends(require_role(Role.CLERK))]
Reviewer = Annotated[User, Depends(require_role(Role.REVIEWER))]
Official = Annotated[User, Depends(require_role(Role.OFFICIAL))]
PartyClerk = Annotated[User, Depends(require_role(Role.PARTY_CLERK))]


def record_action(
    reg: Registry,
    user: User,
    action: str,
    *,
    subject_id: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append an audit entry naming ``user`` as the actor (in a transaction of its own; inside
    a service's transaction call ``services.audit.append(conn, now, user.actor, ...)``)."""
    return audit.record(
        reg.engine,
        reg.now(),
        user.actor,
        action,
        subject_id=subject_id,
        target=target,
        details={"role": user.role.value, "scope": user.scope.label(), **(details or {})},
    )
