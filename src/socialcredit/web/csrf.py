"""CSRF: every unsafe request that a browser could be tricked into sending must carry the
session's token (Warehouse's ``csrf.py``: on by default, not opted into).

The token is per session (``user_sessions.csrf_token``, a new one with every new session, so
it also changes at sign-in). Forms carry it as the hidden field ``csrf_token`` (templates:
``{{ csrf_input() }}``); scripts send it as the ``X-CSRF-Token`` header. Where it is checked:

- every route of a ``page_router()`` (``web/pages.py``), for POST, PUT, PATCH and DELETE, signed
  in or not (the sign-in form has one too: no login CSRF);
- any route that resolves the user from the session cookie (``accounts.deps``), so the JSON API
  cannot be driven by another site through a signed-in browser. A request authenticated by a
  bearer token needs none: browsers never attach it on their own.

A refusal is :class:`~socialcredit.accounts.errors.CsrfRefused` (403), shown on pages as a
page that says the form expired or came from elsewhere and that nothing was changed.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

from socialcredit.accounts.errors import CsrfRefused

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELD = "csrf_token"
HEADER = "x-csrf-token"
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def submitted(request: Request) -> str | None:
    """The token the request carries: the header, else the form field."""
    given = request.headers.get(HEADER)
    if given is None and request.headers.get("content-type", "").startswith(_FORMS):
        value = (await request.form()).get(FIELD)  # parsed once; the route reuses it
        given = value if isinstance(value, str) else None
    return given


async def verify(request: Request, expected: str | None) -> None:
    """Refuse an unsafe request unless it carries ``expected`` (the session's token)."""
    if request.method in SAFE_METHODS:
        return
    given = await submitted(request)
    if expected is None or not given or not hmac.compare_digest(given, expected):
        raise CsrfRefused(
            "this form has expired or did not come from this site; reload the page and try again"
        )
