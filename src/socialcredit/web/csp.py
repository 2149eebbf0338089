"""The content security policy and the other security headers, written once for every page.

One pure ASGI middleware (no ``BaseHTTPMiddleware``: the screening hot path goes through it, so
it only looks at the response's start message). On an HTML response it adds:

- ``Content-Security-Policy`` :data:`POLICY`: nothing by default, style, script and forms from
  this origin only, images from here or ``data:``, no framing, no ``<base>``. Pages therefore
  carry no inline script or style; their CSS and JS are files under ``/static/app/``.
- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin`` (a page's address
  may hold a case number; other sites must not receive it).

``/docs`` is decided explicitly: the packaged Swagger UI starts from one inline script and
fetches ``/openapi.json``, so it gets :data:`DOCS_POLICY` (inline script allowed on that page
only, no other origin). Every other HTML page gets the strict policy; JSON gets ``nosniff``.

It also writes the ``Set-Cookie`` headers that dependencies queued in
``request.state.set_cookies`` (a new or rotated session), so a route may return any response.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_POLICY = (
    "default-src 'none'; style-src 'self'; script-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
DOCS_PATHS = frozenset({"/docs"})
_NOSNIFF = (b"x-content-type-options", b"nosniff")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
                ctype = next((v for k, v in headers if k == b"content-type"), b"")
                headers.append(_NOSNIFF)
                if ctype.startswith(b"text/html"):
                    policy = DOCS_POLICY if scope["path"] in DOCS_PATHS else POLICY
                    headers.append((b"content-security-policy", policy.encode("ascii")))
                    headers.append((b"referrer-policy", b"same-origin"))
                    headers.append((b"x-frame-options", b"DENY"))
                    headers.append((b"cache-control", b"no-store"))
                for cookie in scope.get("state", {}).get("set_cookies", ()):
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
