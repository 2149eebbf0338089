"""Staff pages: sign in (password, then the one-time code if enrolled), sign out, one's own
account (password, second factor, API token) and the operator's users page."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from socialcredit.accounts import service, sessions
from socialcredit.accounts.deps import CurrentUser, Operator, current_session, use_session
from socialcredit.accounts.errors import BadCredentials, Conflict, LockedOut
from socialcredit.accounts.model import Role, Scope
from socialcredit.errors import InvalidInput
from socialcredit.runtime.deps import RegistryDep
from socialcredit.web.i18n import safe_next
from socialcredit.web.pages import page_router, redirect, render

router = page_router()
Field = Annotated[str, Form()]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_error(
    request: Request, exc: BadCredentials | LockedOut, template: str, ctx: dict[str, object]
) -> HTMLResponse:
    if isinstance(exc, LockedOut):
        ctx = {**ctx, "error": "locked", "minutes": math.ceil(exc.retry_after / 60)}
        resp = render(request, template, ctx, 429)
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    return render(request, template, {**ctx, "error": "bad"}, 401)


@router.get("/")
def home(request: Request) -> Response:
    return redirect("/account" if getattr(request.state, "user", None) else "/login")


@router.get("/login")
def login_form(request: Request, next: str = "/account", out: int = 0) -> HTMLResponse:
    return render(request, "accounts/login.html", {"next": safe_next(next), "signed_out": out})


@router.post("/login")
def login(
    request: Request,
    reg: RegistryDep,
    username: Field,
    password: Field,
    next: Annotated[str, Form()] = "/account",
) -> Response:
    target = safe_next(next, "/account")
    try:
        user = service.authenticate(
            reg, username=username, password=password, client=_client(request)
        )
    except (BadCredentials, LockedOut) as e:
        ctx: dict[str, object] = {"next": target, "username": username}
        return _login_error(request, e, "accounts/login.html", ctx)
    # A new session id at every step up in privilege: an id fixed before sign-in is worthless.
    s = sessions.rotate(
        reg, current_session(request), user_id=user.id, mfa_pending=user.totp_enabled
    )
    use_session(request, s)
    if user.totp_enabled:
        return redirect("/login/totp?" + urlencode({"next": target}))
    return redirect("/account" if user.must_change_password else target)


def _pending(request: Request) -> sessions.Session | None:
    s = current_session(request)
    return s if s is not None and s.mfa_pending and s.user_id is not None else None


@router.get("/login/totp")
def totp_form(request: Request, next: str = "/account") -> Response:
    if _pending(request) is None:
        return redirect("/login")
    return render(request, "accounts/login_totp.html", {"next": safe_next(next)})


@router.post("/login/totp")
def totp_login(
    request: Request, reg: RegistryDep, code: Field, next: Annotated[str, Form()] = "/account"
) -> Response:
    pending = _pending(request)
    if pending is None or pending.user_id is None:
        return redirect("/login")
    target = safe_next(next, "/account")
    try:
        user = service.verify_second_factor(
            reg, user_id=pending.user_id, code=code, client=_client(request)
        )
    except (BadCredentials, LockedOut) as e:
        return _login_error(request, e, "accounts/login_totp.html", {"next": target})
    use_session(request, sessions.rotate(reg, pending, user_id=user.id))
    return redirect("/account" if user.must_change_password else target)


@router.post("/logout")
def logout(request: Request, reg: RegistryDep) -> Response:
    s = current_session(request)
    if s is not None:
        sessions.end(reg, s.raw_id)
    use_session(request, None)
    return redirect("/login?out=1")


def _account(request: Request, reg: RegistryDep, user: CurrentUser, **ctx: object) -> HTMLResponse:
    status = int(ctx.pop("status", 200))  # type: ignore[call-overload]
    pending = service.totp_pending(reg, user=user)
    fresh = service.get_user(reg, user_id=user.id)
    return render(
        request,
        "accounts/account.html",
        {
            "me": fresh,
            "totp_secret": pending[0] if pending else None,
            "totp_uri": pending[1] if pending else None,
            **ctx,
        },
        status,
    )


@router.get("/account")
def account(request: Request, reg: RegistryDep, user: CurrentUser, done: str = "") -> HTMLResponse:
    return _account(request, reg, user, done=done)


@router.post("/account/password")
def change_password(
    request: Request,
    reg: RegistryDep,
    user: CurrentUser,
    current: Field,
    new: Field,
    confirm: Field,
) -> Response:
    if new != confirm:
        return _account(request, reg, user, password_error="mismatch", status=422)
    try:
        service.change_password(reg, user=user, current=current, new=new, client=_client(request))
    except BadCredentials:
        return _account(request, reg, user, password_error="current", status=422)
    except LockedOut:
        return _account(request, reg, user, password_error="locked", status=429)
    except InvalidInput:
        return _account(request, reg, user, password_error="policy", status=422)
    return redirect("/account?done=password")


@router.post("/account/totp")
def totp_start(request: Request, reg: RegistryDep, user: CurrentUser) -> Response:
    try:
        service.totp_begin(reg, user=user)
    except Conflict:
        pass
    return redirect("/account#totp")


@router.post("/account/totp/confirm")
def totp_confirm(request: Request, reg: RegistryDep, user: CurrentUser, code: Field) -> Response:
    try:
        service.totp_confirm(reg, user=user, code=code)
    except (BadCredentials, Conflict):
        return _account(request, reg, user, totp_error=True, status=422)
    return redirect("/account?done=totp")


@router.post("/account/token")
def new_token(request: Request, reg: RegistryDep, user: CurrentUser) -> HTMLResponse:
    token = service.issue_token(reg, username=user.username, by=user.actor)
    return _account(request, reg, user, new_token=token)


def _users(request: Request, reg: RegistryDep, **ctx: object) -> HTMLResponse:
    status = int(ctx.pop("status", 200))  # type: ignore[call-overload]
    return render(
        request,
        "accounts/users.html",
        {"users": service.list_users(reg), "roles": list(Role), **ctx},
        status,
    )


@router.get("/admin/users")
def users_page(request: Request, reg: RegistryDep, user: Operator) -> HTMLResponse:
    return _users(request, reg)


@router.post("/admin/users")
def add_user(
    request: Request,
    reg: RegistryDep,
    user: Operator,
    username: Field,
    display_name: Field,
    role: Field,
    scope: Annotated[str, Form()] = "",
    level: Annotated[str, Form()] = "first",
) -> HTMLResponse:
    form = {"username": username, "display_name": display_name, "role": role, "scope": scope}
    try:
        r = Role(role)
    except ValueError:
        return _users(request, reg, form=form, add_error=f"role: {role}", status=422)
    scope = scope.strip()
    sc = Scope(
        authority=scope if r is Role.CLERK and scope else None,
        review_body=scope if r is Role.REVIEWER and scope else None,
        review_level=level if r is Role.REVIEWER else None,
        party=scope if r is Role.PARTY_CLERK and scope else None,
    )
    if r in (Role.OPERATOR, Role.OFFICIAL) and scope:
        return _users(request, reg, form=form, add_error="noscope", status=422)
    try:
        created, password = service.create_user(
            reg, username=username, display_name=display_name, role=r, scope=sc, by=user.actor
        )
    except (InvalidInput, Conflict) as e:
        return _users(request, reg, form=form, add_error=e.message, status=422)
    return _users(request, reg, created=created, password=password)


@router.post("/admin/users/{username}/disable")
def disable_user(request: Request, reg: RegistryDep, user: Operator, username: str) -> Response:
    if username == user.username:
        return _users(request, reg, add_error="self", status=422)
    service.set_disabled(reg, username=username, disabled=True, by=user.actor)
    return redirect("/admin/users")


@router.post("/admin/users/{username}/enable")
def enable_user(request: Request, reg: RegistryDep, user: Operator, username: str) -> Response:
    service.set_disabled(reg, username=username, disabled=False, by=user.actor)
    return redirect("/admin/users")
