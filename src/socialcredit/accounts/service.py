"""Use cases of staff accounts: create, list, disable, reset, sign in, second factor, tokens.

Every function takes the :class:`Registry` first and the rest by keyword. Each write is one
transaction that also appends its audit entry naming who did it (``by``: a user's ``actor``, or
``cli`` / ``bootstrap`` for the database host and the first operator).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from socialcredit.accounts import secrets as sec
from socialcredit.accounts.errors import BadCredentials, Conflict, NotFound
from socialcredit.accounts.model import Role, Scope, User
from socialcredit.accounts.ratelimit import login_limiter
from socialcredit.errors import InvalidInput
from socialcredit.integrity import audit
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_accounts import user_sessions, users

USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


def utcnow(reg: Registry) -> dt.datetime:
    """The registry's clock as naive UTC, as the tables store it."""
    return reg.now().astimezone(dt.UTC).replace(tzinfo=None)


def _user(r: Any) -> User:
    return User(
        id=int(r.id),
        username=r.username,
        display_name=r.display_name,
        role=Role(r.role),
        scope=Scope(r.authority, r.review_body, r.review_level, r.party),
        must_change_password=bool(r.must_change_password),
        totp_enabled=bool(r.totp_enabled),
        has_api_token=r.api_token_hash is not None,
        created_at=r.created_at,
        expires_at=r.expires_at,
        disabled_at=r.disabled_at,
    )


def _row(conn: Connection, **where: Any) -> Any:
    q = select(users)
    for k, v in where.items():
        q = q.where(users.c[k] == v)
    return conn.execute(q).first()


def _audit(
    conn: Connection, reg: Registry, by: str, action: str, target: str, **details: Any
) -> None:
    audit.append(conn, reg.now(), by, action, target=target, details=details or None)


def create_user(
    reg: Registry,
    *,
    username: str,
    display_name: str,
    role: Role,
    scope: Scope,
    by: str,
    password: str | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[User, str | None]:
    """Add a user. Without ``password`` one is generated and returned (shown once) and the user
    must change it at first sign-in. The scope must fit the role (a clerk names an authority)."""
    username = username.strip().lower()
    if not username or not set(username) <= USERNAME_CHARS or len(username) > 64:
        raise InvalidInput.one("username", "use 1-64 of a-z, 0-9, '.', '_', '-'", username)
    problems = scope.check(role)
    if problems:
        raise InvalidInput.one("role", "; ".join(problems), role.value)
    generated = None
    if password is None:
        password = generated = sec.one_time_password()
    pw_hash = sec.hash_password(password)
    now = utcnow(reg)
    with reg.engine.begin() as conn:
        if _row(conn, username=username) is not None:
            raise Conflict(f"user {username} already exists")
        if scope.authority is not None:
            from socialcredit.store.tables import authorities

            known = conn.execute(
                select(authorities.c.code).where(authorities.c.code == scope.authority)
            ).first()
            if known is None:
                raise InvalidInput.one("authority", "no such authority", scope.authority)
        conn.execute(
            insert(users).values(
                username=username,
                display_name=display_name.strip() or username,
                role=role.value,
                authority=scope.authority,
                review_body=scope.review_body,
                review_level=scope.review_level,
                party=scope.party,
                password_hash=pw_hash,
                must_change_password=generated is not None,
                totp_enabled=False,
                created_at=now,
                created_by=by,
                expires_at=expires_at,
            )
        )
        _audit(conn, reg, by, "user.add", username, role=role.value, scope=scope.label())
        return _user(_row(conn, username=username)), generated


def list_users(reg: Registry) -> list[User]:
    with reg.engine.connect() as conn:
        return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def get_user(reg: Registry, *, user_id: int | None = None, username: str | None = None) -> User:
    with reg.engine.connect() as conn:
        r = _row(conn, id=user_id) if user_id is not None else _row(conn, username=username)
    if r is None:
        raise NotFound(f"no user {username if user_id is None else user_id}")
    return _user(r)


def count_operators(reg: Registry) -> int:
    with reg.engine.connect() as conn:
        q = select(func.count()).select_from(users).where(users.c.role == Role.OPERATOR.value)
        return int(conn.execute(q).scalar_one())


def _end_sessions(conn: Connection, user_id: int) -> None:
    conn.execute(user_sessions.delete().where(user_sessions.c.user_id == user_id))


def set_disabled(reg: Registry, *, username: str, disabled: bool, by: str) -> User:
    """Disable (or enable again) a user; disabling ends their sessions and token at once."""
    now = utcnow(reg)
    with reg.engine.begin() as conn:
        r = _row(conn, username=username)
        if r is None:
            raise NotFound(f"no user {username}")
        conn.execute(
            update(users).where(users.c.id == r.id).values(disabled_at=now if disabled else None)
        )
        if disabled:
            _end_sessions(conn, int(r.id))
        _audit(conn, reg, by, "user.disable" if disabled else "user.enable", username)
        return _user(_row(conn, id=r.id))


def reset(
    reg: Registry,
    *,
    username: str,
    by: str,
    password: bool = True,
    new_password: str | None = None,
    totp: bool = False,
) -> str | None:
    """Reset a user's password (a generated one, returned, unless ``new_password`` is given;
    either must be changed at next sign-in) and/or remove their second factor. Ends their
    sessions; a new password lifts a sign-in lockout (see :func:`_limit_key`)."""
    values: dict[str, Any] = {}
    generated = None
    if password:
        pw = new_password if new_password is not None else sec.one_time_password()
        generated = None if new_password is not None else pw
        values.update(password_hash=sec.hash_password(pw), must_change_password=True)
    if totp:
        values.update(totp_secret=None, totp_enabled=False, totp_last_step=None)
    if not values:
        raise InvalidInput.one("reset", "nothing to reset: choose the password and/or TOTP")
    with reg.engine.begin() as conn:
        r = _row(conn, username=username)
        if r is None:
            raise NotFound(f"no user {username}")
        conn.execute(update(users).where(users.c.id == r.id).values(**values))
        _end_sessions(conn, int(r.id))
        _audit(conn, reg, by, "user.reset", username, password=password, totp=totp)
    return generated


def _limit_key(username: str, r: Any) -> str:
    """The account's key in the rate limiter: the name plus a piece of the password hash, so a
    reset (a new hash) lifts a lockout in every process, whatever the limiter's storage."""
    if r is None:
        return username
    return f"{username}#{hashlib.sha256(r.password_hash.encode()).hexdigest()[:16]}"


def authenticate(reg: Registry, *, username: str, password: str, client: str) -> User:
    """The user whose password this is, if neither the account nor the address is locked out.

    A failure counts against both limits and raises :class:`BadCredentials` (never saying
    whether the name exists); a locked-out attempt raises ``LockedOut`` before any check.
    """
    limiter = login_limiter(reg.settings)
    username = username.strip().lower()
    with reg.engine.connect() as conn:
        r = _row(conn, username=username)
    key = _limit_key(username, r)
    limiter.check(key, client)
    ok = sec.verify_password(r.password_hash if r is not None else None, password)
    if r is None or not ok or not _user(r).active(utcnow(reg)):
        limiter.failed(key, client)
        raise BadCredentials("wrong user name or password")
    if sec.needs_rehash(r.password_hash):
        with reg.engine.begin() as conn:
            conn.execute(
                update(users)
                .where(users.c.id == r.id)
                .values(password_hash=sec.hash_password(password))
            )
    return _user(r)


def verify_second_factor(reg: Registry, *, user_id: int, code: str, client: str) -> User:
    """Check a TOTP code for a user whose password was right; same limits as the password."""
    user = get_user(reg, user_id=user_id)
    limiter = login_limiter(reg.settings)
    with reg.engine.begin() as conn:
        r = _row(conn, id=user_id)
        key = _limit_key(user.username, r)
        limiter.check(key, client)
        step = None
        if r.totp_enabled and r.totp_secret:
            step = sec.totp_step(r.totp_secret, code, time.time(), r.totp_last_step)
        if step is None:
            limiter.failed(key, client)
            raise BadCredentials("wrong one-time code")
        conn.execute(update(users).where(users.c.id == user_id).values(totp_last_step=step))
    return user


def change_password(reg: Registry, *, user: User, current: str, new: str, client: str) -> None:
    """A user changes their own password (the current one is asked again)."""
    limiter = login_limiter(reg.settings)
    with reg.engine.begin() as conn:
        r = _row(conn, id=user.id)
        key = _limit_key(user.username, r)
        limiter.check(key, client)
        if not sec.verify_password(r.password_hash, current):
            limiter.failed(key, client)
            raise BadCredentials("the current password is wrong")
        if new == current:
            raise InvalidInput.one("password", "the new password must differ from the old one")
        conn.execute(
            update(users)
            .where(users.c.id == user.id)
            .values(password_hash=sec.hash_password(new), must_change_password=False)
        )
        _audit(conn, reg, user.actor, "user.password", user.username)


def totp_begin(reg: Registry, *, user: User) -> tuple[str, str]:
    """Start enrolling a second factor: a new secret (kept, not yet enabled) and its
    ``otpauth://`` URI. Enrolling again while enrolled is refused: reset first."""
    if user.totp_enabled:
        raise Conflict("a second factor is already enrolled")
    secret = sec.new_totp_secret()
    with reg.engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user.id).values(totp_secret=secret))
    return secret, sec.totp_uri(secret, user.username)


def totp_pending(reg: Registry, *, user: User) -> tuple[str, str] | None:
    """The secret being enrolled and its URI, if enrolment was started and not finished."""
    with reg.engine.connect() as conn:
        r = _row(conn, id=user.id)
    if r.totp_enabled or not r.totp_secret:
        return None
    return r.totp_secret, sec.totp_uri(r.totp_secret, user.username)


def totp_confirm(reg: Registry, *, user: User, code: str) -> None:
    """Finish enrolment with a code from the authenticator: from now on sign-in asks for one."""
    with reg.engine.begin() as conn:
        r = _row(conn, id=user.id)
        if r.totp_enabled or not r.totp_secret:
            raise Conflict("start enrolment first")
        step = sec.totp_step(r.totp_secret, code, time.time(), None)
        if step is None:
            raise BadCredentials("wrong one-time code")
        conn.execute(
            update(users)
            .where(users.c.id == user.id)
            .values(totp_enabled=True, totp_last_step=step)
        )
        _audit(conn, reg, user.actor, "user.totp_enrol", user.username)


def issue_token(reg: Registry, *, username: str, by: str) -> str:
    """A new API token for the user (replacing any old one); only its hash is kept."""
    token, digest = sec.new_api_token()
    with reg.engine.begin() as conn:
        r = _row(conn, username=username)
        if r is None:
            raise NotFound(f"no user {username}")
        conn.execute(
            update(users)
            .where(users.c.id == r.id)
            .values(api_token_hash=digest, api_token_created_at=utcnow(reg))
        )
        _audit(conn, reg, by, "user.token", username)
    return token


def user_for_token(reg: Registry, token: str) -> User | None:
    """The active user holding this API token, else ``None``."""
    if not token.startswith(sec.TOKEN_PREFIX):
        return None
    with reg.engine.connect() as conn:
        r = _row(conn, api_token_hash=sec.token_hash(token))
    if r is None:
        return None
    user = _user(r)
    return user if user.active(utcnow(reg)) else None
