"""The accounts part of the JSON API: who am I, and the bootstrap of the first operator."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from socialcredit.accounts import service
from socialcredit.accounts.deps import CurrentUser
from socialcredit.accounts.errors import Conflict
from socialcredit.accounts.model import Role, Scope, User
from socialcredit.accounts.schemas import STAFF_TOKEN, BootstrapOut, UserOut
from socialcredit.runtime.deps import OperatorDep, RegistryDep

router = APIRouter(tags=["accounts"])


def user_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "authority": user.scope.authority,
        "review_body": user.scope.review_body,
        "review_level": user.scope.review_level,
        "party": user.scope.party,
        "totp_enabled": user.totp_enabled,
        "has_api_token": user.has_api_token,
        "created_at": user.created_at.isoformat(),
        "expires_at": user.expires_at.isoformat() if user.expires_at else None,
        "disabled": user.disabled_at is not None,
    }


@router.get(
    "/v1/accounts/me",
    response_model=UserOut,
    openapi_extra={"security": [{STAFF_TOKEN: []}]},
)
def me(user: CurrentUser) -> dict[str, Any]:
    """The acting user (session cookie or `Authorization: Bearer <user API token>`)."""
    return user_dict(user)


class BootstrapIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(default="", max_length=128)


@router.post(
    "/v1/accounts/bootstrap",
    status_code=201,
    response_model=BootstrapOut,
    responses={409: {"description": "An operator exists already"}},
)
def bootstrap(body: BootstrapIn, reg: RegistryDep, _: OperatorDep) -> dict[str, Any]:
    """Create the first operator with the server's operator token. Once an operator exists this
    is refused (409): further users are added by an operator, on the users page or the CLI.
    Answers a one-time password (to change at first sign-in) and an API token, shown once."""
    if service.count_operators(reg) > 0:
        raise Conflict("an operator exists already; the operator token adds no more users")
    user, password = service.create_user(
        reg,
        username=body.username,
        display_name=body.display_name,
        role=Role.OPERATOR,
        scope=Scope(),
        by="bootstrap",
    )
    token = service.issue_token(reg, username=user.username, by="bootstrap")
    return {"user": user_dict(user), "password": password, "api_token": token}
