"""The page kit: Jinja2 templates rendered in the request's language, page routers with CSRF
on by default, errors shown as pages, static files served from the package.

How a capability adds a page::

    # src/socialcredit/dueprocess/pages.py
    from socialcredit.accounts.deps import Reviewer
    from socialcredit.web.pages import page_router, redirect, render

    router = page_router()          # every POST/PUT/PATCH/DELETE checks the CSRF token

    @router.get("/review/queue")
    def queue(request: Request, user: Reviewer) -> HTMLResponse:
        return render(request, "dueprocess/queue.html", {"cases": ...})

    # src/socialcredit/web/templates/dueprocess/queue.html
    {% extends "base.html" %}
    {% block title %}{% trans %}Review queue{% endtrans %}{% endblock %}
    {% block content %}<form method="post">{{ csrf_input() }} ...</form>{% endblock %}

then add the module to ``ROUTERS`` in ``web/app.py`` and run ``make messages`` (see
``web/i18n.py``). A template gets ``request``, ``user`` (or ``None``), ``locale``, ``lang``,
``csrf_token``/``csrf_input()``, ``static(path)``, ``locale_url(locale)`` and the context given.
An error raised in a page route is shown as a page in the user's language (401: the sign-in
page), the same error in the JSON API stays JSON.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from socialcredit.accounts.deps import check_csrf, optional_user, session_for_form
from socialcredit.accounts.errors import (
    CsrfRefused,
    LockedOut,
    NotAuthenticated,
    PasswordChangeRequired,
    RoleRefused,
)
from socialcredit.errors import RegistryError
from socialcredit.web import i18n
from socialcredit.web.csp import SecurityHeadersMiddleware

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
STATIC_URL = "/static/app"


@lru_cache(maxsize=len(i18n.LOCALES))
def environment(locale: str) -> Environment:
    """One environment per locale, its gettext installed once (no per-request swapping)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


def static(path: str) -> str:
    return f"{STATIC_URL}/{path}"


def locale_url(request: Request, locale: str) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/locale?" + urlencode({"l": locale, "next": here})


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render ``template`` (a path under ``web/templates/``) in the request's language."""
    locale = i18n.negotiate(request)
    session = session_for_form(request)
    token = session.csrf_token
    ctx: dict[str, Any] = {
        "request": request,
        "user": getattr(request.state, "user", None),
        "locale": locale,
        "lang": i18n.HTML_LANG[locale],
        "locales": [(loc, i18n.NATIVE_NAMES[loc]) for loc in i18n.LOCALES],
        "csrf_token": token,
        "csrf_input": lambda: Markup('<input type="hidden" name="csrf_token" value="{}">').format(
            token
        ),
        "static": static,
        "locale_url": lambda loc: locale_url(request, loc),
        **(context or {}),
    }
    html = environment(locale).get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    """303 See Other: after a form post, the browser GETs ``url``."""
    return RedirectResponse(url, status_code=303)


async def _page(request: Request) -> None:
    request.state.page = True
    await optional_user(request)  # for the header; a wrong or lapsed session is just anonymous
    await check_csrf(request)  # web/csrf.py: on by default for every page route


def page_router(**kwargs: Any) -> APIRouter:
    """An ``APIRouter`` for pages: kept out of the OpenAPI document, errors shown as pages,
    every unsafe method refused without the session's CSRF token."""
    deps = [Depends(_page), *kwargs.pop("dependencies", [])]
    return APIRouter(include_in_schema=False, dependencies=deps, **kwargs)


def error_page(request: Request, exc: RegistryError) -> Response:
    if isinstance(exc, NotAuthenticated) and not isinstance(exc, LockedOut):
        return redirect(
            "/login?" + urlencode({"next": request.url.path}, safe="/", quote_via=quote)
        )
    if isinstance(exc, PasswordChangeRequired):
        return redirect("/account")
    kind = (
        "csrf"
        if isinstance(exc, CsrfRefused)
        else "role"
        if isinstance(exc, RoleRefused)
        else "other"
    )
    resp = render(
        request, "error.html", {"kind": kind, "status": exc.status, "error": exc}, exc.status
    )
    if isinstance(exc, LockedOut):
        resp.headers["Retry-After"] = str(exc.retry_after)
    return resp


def install(app: FastAPI) -> None:
    """Wire the page kit into the app: static files, the security headers middleware, the
    language switch and page-aware error handling. Called once by ``create_app``."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC), name="static-app")
    app.add_middleware(SecurityHeadersMiddleware)
    json_handler = app.exception_handlers.get(RegistryError)

    async def registry_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RegistryError)
        if getattr(request.state, "page", False):
            return error_page(request, exc)
        if json_handler is not None:
            got = json_handler(request, exc)
            resp: Response = await got if inspect.isawaitable(got) else got
        else:
            resp = JSONResponse(exc.to_dict(), status_code=exc.status)
        if isinstance(exc, LockedOut):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp

    app.add_exception_handler(RegistryError, registry_error)

    @app.get("/locale", include_in_schema=False)
    def switch_locale(request: Request, l: str = i18n.DEFAULT, next: str = "/") -> Response:  # noqa: E741
        resp = redirect(i18n.safe_next(next))
        if l in i18n.LOCALES:
            resp.set_cookie(
                i18n.COOKIE, l, max_age=365 * 86400, httponly=True, samesite="lax", path="/"
            )
        return resp
