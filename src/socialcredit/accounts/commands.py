"""``socialcredit user``: staff accounts from the database host.

socialcredit user add USERNAME --role clerk --authority CAAC [--name ...] [--password-stdin]
socialcredit user list [--json] | disable USERNAME [--enable]
socialcredit user reset USERNAME [--totp] [--no-password] [--password-stdin]
socialcredit user token USERNAME       (a new API token, shown once)
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from socialcredit.accounts.model import REVIEW_LEVELS, Role, Scope, User
from socialcredit.errors import InvalidInput
from socialcredit.runtime.console import JsonOpt, cli_registry, errors, out, print_json


def user_dict(user: User) -> dict[str, Any]:
    from socialcredit.accounts.api import user_dict as as_dict  # FastAPI only when asked

    return as_dict(user)


user_app = typer.Typer(no_args_is_help=True, help="Staff accounts: users, roles, passwords.")
BY = "cli"
UsernameArg = Annotated[str, typer.Argument(help="the staff user's login name")]


def _read_password() -> str:
    pw = sys.stdin.readline().rstrip("\r\n")
    if not pw:
        raise typer.BadParameter("--password-stdin: no password on standard input")
    return pw


@user_app.command("add")
def add(
    username: UsernameArg,
    role: Annotated[Role, typer.Option(help="what the user does", case_sensitive=False)],
    name: Annotated[str, typer.Option(help="display name")] = "",
    authority: Annotated[str | None, typer.Option(help="clerk: their authority's code")] = None,
    review_body: Annotated[
        str | None, typer.Option(help="reviewer: the body (authority code or registry)")
    ] = None,
    review_level: Annotated[
        str | None, typer.Option(help=f"reviewer: {' or '.join(REVIEW_LEVELS)}")
    ] = None,
    party: Annotated[str | None, typer.Option(help="party_clerk: the relying party")] = None,
    expires: Annotated[
        str | None, typer.Option(help="the account ends on this date (YYYY-MM-DD, UTC)")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a staff user. Prints a one-time password (to be changed at first sign-in) unless
    --password-stdin gives one."""
    from socialcredit.accounts import service  # not at every CLI start

    with errors(as_json):
        reg = cli_registry(migrate=True)
        password = _read_password() if password_stdin else None
        try:
            until = dt.datetime.fromisoformat(expires) if expires else None
        except ValueError:
            raise InvalidInput.one("--expires", "must be a date YYYY-MM-DD", expires) from None
        user, generated = service.create_user(
            reg,
            username=username,
            display_name=name,
            role=role,
            scope=Scope(authority, review_body, review_level, party),
            by=BY,
            password=password,
            expires_at=until,
        )
        if as_json:
            print_json({"user": user_dict(user), "password": generated})
            return
        out.print(f"added {user.username} ({user.role.value} {user.scope.label()})".rstrip())
        if generated:
            typer.echo(f"one-time password (shown once; change it at first sign-in): {generated}")


@user_app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Every staff user with role, scope and state."""
    from socialcredit.accounts import service  # not at every CLI start

    with errors(as_json):
        users = service.list_users(cli_registry())
        if as_json:
            print_json([user_dict(u) for u in users])
            return
        t = Table("user", "name", "role", "scope", "2FA", "token", "state")
        for u in users:
            state = (
                "disabled"
                if u.disabled_at
                else ("expires " + str(u.expires_at) if u.expires_at else "active")
            )
            t.add_row(
                u.username,
                u.display_name,
                u.role.value,
                u.scope.label(),
                "yes" if u.totp_enabled else "no",
                "yes" if u.has_api_token else "no",
                state,
            )
        out.print(t)


@user_app.command("disable")
def disable(
    username: UsernameArg,
    enable: Annotated[bool, typer.Option("--enable", help="enable again instead")] = False,
) -> None:
    """Disable a user: their sessions and API token stop working at once."""
    from socialcredit.accounts import service  # not at every CLI start

    with errors():
        u = service.set_disabled(cli_registry(), username=username, disabled=not enable, by=BY)
        out.print(f"{u.username} {'enabled' if enable else 'disabled'}")


@user_app.command("reset")
def reset(
    username: UsernameArg,
    password: Annotated[
        bool, typer.Option("--password/--no-password", help="reset the password")
    ] = True,
    totp: Annotated[bool, typer.Option("--totp", help="remove the second factor")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the new password from standard input")
    ] = False,
) -> None:
    """Reset a password (a one-time one is printed) and/or the TOTP second factor; ends the
    user's sessions and lifts a sign-in lockout."""
    from socialcredit.accounts import service  # not at every CLI start

    with errors():
        given = _read_password() if password_stdin and password else None
        generated = service.reset(
            cli_registry(),
            username=username,
            by=BY,
            password=password,
            new_password=given,
            totp=totp,
        )
        done = [w for w, on in (("password", password), ("second factor", totp)) if on]
        out.print(f"{username}: reset {' and '.join(done)}")
        if generated:
            typer.echo(f"one-time password (shown once; change it at first sign-in): {generated}")


@user_app.command("token")
def token(username: UsernameArg) -> None:
    """Issue a new API token for the user (any old one stops working); shown once."""
    from socialcredit.accounts import service  # not at every CLI start

    with errors():
        t = service.issue_token(cli_registry(), username=username, by=BY)
        typer.echo(f"API token for {username} (shown once): {t}")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
