"""Shared route dependencies as ``Annotated`` aliases."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

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
    if not token or not given or not hmac.compare_digest(given, token):
        raise Unauthorized("operator routes need `Authorization: Bearer <operator token>`")
    return "operator"


OperatorDep = Annotated[str, Depends(require_operator)]
