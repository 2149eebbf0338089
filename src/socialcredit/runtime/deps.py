"""Shared route dependencies as ``Annotated`` aliases, and the API's security schemes.

The schemes read the headers exactly as the routes always have (``Bearer `` optional) and
name them in the OpenAPI document, so the docs' Authorize button sends them: the operator
token, a subject's session token (``/v1/me``) and a relying party's key (``X-API-Key`` or a
bearer token).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security import APIKeyHeader
from fastapi.security.base import SecurityBase

from socialcredit.errors import RegistryError
from socialcredit.runtime.registry import Registry


class Unauthorized(RegistryError):
    status = 401
    code = "unauthorized"


class BearerToken(SecurityBase):
    """``Authorization: Bearer <token>`` as a documented scheme; the token, or None."""

    def __init__(self, scheme_name: str, description: str) -> None:
        self.model = HTTPBearerModel(description=description)
        self.scheme_name = scheme_name

    async def __call__(self, request: Request) -> str | None:
        given = (request.headers.get("authorization") or "").removeprefix("Bearer ").strip()
        return given or None


operator_bearer = BearerToken("operator", "The operator token (SOCIALCREDIT_OPERATOR_TOKEN).")
subject_bearer = BearerToken(
    "subjectSession", "A subject's session token from `POST /v1/me/session`."
)
party_bearer = BearerToken("relyingPartyBearer", "A relying party's API key as a bearer token.")
party_key = APIKeyHeader(
    name="X-API-Key",
    scheme_name="relyingPartyKey",
    description="A relying party's API key.",
    auto_error=False,
)


def get_registry(request: Request) -> Registry:
    reg: Registry = request.app.state.registry
    return reg


RegistryDep = Annotated[Registry, Depends(get_registry)]


def require_operator(
    reg: RegistryDep, given: Annotated[str | None, Security(operator_bearer)] = None
) -> str:
    token = reg.settings.operator_token
    # bytes: compare_digest refuses non-ASCII str (a 500 for a header a fuzzer sends)
    if not token or not given or not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized("operator routes need `Authorization: Bearer <operator token>`")
    return "operator"


OperatorDep = Annotated[str, Depends(require_operator)]

# A row id in a path or a body: the store's ids are 64-bit, so a larger number is a 422, never
# an overflow in the driver (a 500).
MAX_ID = 2**63 - 1
DbId = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id (1 to 2**63-1)")]
