"""Shared route dependencies as ``Annotated`` aliases."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Path, Request

from socialcredit.errors import RegistryError
from socialcredit.runtime.registry import Registry


class Unauthorized(RegistryError):
    status = 401
    code = "unauthorized"


def get_registry(request: Request) -> Registry:
    reg: Registry = request.app.state.registry
    return reg


RegistryDep = Annotated[Registry, Depends(get_registry)]


def require_operator(
    reg: RegistryDep, authorization: Annotated[str | None, Header()] = None
) -> str:
    token = reg.settings.operator_token
    given = (authorization or "").removeprefix("Bearer ").strip()
    # bytes: compare_digest refuses non-ASCII str (a 500 for a header a fuzzer sends)
    if not token or not given or not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized("operator routes need `Authorization: Bearer <operator token>`")
    return "operator"


OperatorDep = Annotated[str, Depends(require_operator)]

# A row id in a path or a body: the store's ids are 64-bit, so a larger number is a 422, never
# an overflow in the driver (a 500).
MAX_ID = 2**63 - 1
DbId = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id (1 to 2**63-1)")]
