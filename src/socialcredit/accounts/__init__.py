"""Staff accounts: who may do what, and who did it.

Users with one role each, scoped to what the role may touch (:class:`Role`, :class:`Scope`):
``operator`` administers, a ``clerk`` files for one authority, a ``reviewer`` decides for one
body at one level, an ``official`` sees aggregates only, a ``party_clerk`` screens for one
relying party. Passwords are Argon2id hashes, a TOTP second factor is optional, sessions live
server-side behind a signed cookie, sign-ins are rate-limited with lockout, and each user may
hold one API token (hashed; shown once).

The public face:

- routes name the acting user with :data:`CurrentUser` / :func:`require_role` (and the aliases
  :data:`Operator`, :data:`Clerk`, :data:`Reviewer`, :data:`Official`, :data:`PartyClerk`),
  check scope with ``User.may_file_for`` / ``may_review`` / ``may_screen_for``;
- the audit log names them with ``user.actor`` (:func:`record_action` for a read);
- :mod:`socialcredit.accounts.service` holds the use cases, ``commands`` the ``user`` CLI.
"""

from typing import TYPE_CHECKING, Any

from socialcredit.accounts.errors import CsrfRefused, LockedOut, NotAuthenticated, RoleRefused
from socialcredit.accounts.model import Role, Scope, User

if TYPE_CHECKING:
    from socialcredit.accounts.deps import (
        Clerk,
        CurrentUser,
        Official,
        Operator,
        OptionalUser,
        PartyClerk,
        Reviewer,
        record_action,
        require_role,
    )

_DEPS = {
    "Clerk",
    "CurrentUser",
    "Official",
    "Operator",
    "OptionalUser",
    "PartyClerk",
    "Reviewer",
    "record_action",
    "require_role",
}


def __getattr__(name: str) -> Any:
    # The web dependencies load FastAPI: the CLI, which needs only the model and the service,
    # does not pay for that at every start.
    if name in _DEPS:
        from socialcredit.accounts import deps

        return getattr(deps, name)
    raise AttributeError(name)


__all__ = [
    "Clerk",
    "CsrfRefused",
    "CurrentUser",
    "LockedOut",
    "NotAuthenticated",
    "Official",
    "Operator",
    "OptionalUser",
    "PartyClerk",
    "Reviewer",
    "Role",
    "RoleRefused",
    "Scope",
    "User",
    "record_action",
    "require_role",
]
