"""Accounts against the real store (SQLite and PostgreSQL): users, sign-in with lockout,
sessions and their expiry, second factor, API tokens, and the audit log naming the user.

Each test gets its own registry (``db_url``) and its own rate-limit storage (a unique limit
string makes ``login_limiter`` build a fresh memory storage), so lockouts do not leak.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator

import pyotp
import pytest
from sqlalchemy import select

from socialcredit.accounts import service, sessions
from socialcredit.accounts.errors import BadCredentials, Conflict, LockedOut
from socialcredit.accounts.model import Role, Scope
from socialcredit.errors import InvalidInput
from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.settings import Settings
from socialcredit.store.tables_accounts import user_sessions, users

PW = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.t = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reg(db_url: str, clock: Clock) -> Iterator[Registry]:
    # A unique per-user limit string: a fresh limiter (and memory storage) for this test.
    settings = Settings(
        database_url=db_url,
        login_limit_user=f"3 per {10_000 + uuid.uuid4().int % 10_000} seconds",
        login_limit_ip="100 per 15 minutes",
    )
    r = open_registry(settings, migrate_schema=True)
    r.clock = clock
    with r.uow() as uow:
        seed_reference_authorities(uow, r.pack)
        uow.commit()
    yield r
    r.engine.dispose()


def add(reg: Registry, name: str, role: Role = Role.OPERATOR, scope: Scope | None = None) -> int:
    user, _ = service.create_user(
        reg,
        username=name,
        display_name=name,
        role=role,
        scope=scope or Scope(),
        by="cli",
        password=PW,
    )
    return user.id


def test_users_are_added_with_a_fitting_scope_and_named_in_the_audit_log(reg: Registry) -> None:
    user, one_time = service.create_user(
        reg,
        username="Li.Clerk",
        display_name="李文",
        role=Role.CLERK,
        scope=Scope(authority="CAAC"),
        by="cli",
    )
    assert user.username == "li.clerk" and user.must_change_password and one_time
    assert (
        service.authenticate(reg, username="li.clerk", password=one_time, client="t").id == user.id
    )
    with pytest.raises(InvalidInput, match="no such authority"):
        service.create_user(
            reg,
            username="x",
            display_name="x",
            role=Role.CLERK,
            scope=Scope(authority="NOPE"),
            by="cli",
        )
    with pytest.raises(InvalidInput, match="needs --authority"):
        service.create_user(
            reg, username="y", display_name="y", role=Role.CLERK, scope=Scope(), by="cli"
        )
    with pytest.raises(Conflict):
        add(reg, "li.clerk")
    with reg.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and one_time not in stored
    with reg.engine.connect() as conn:
        from socialcredit.store.tables_dueprocess import audit_log

        rows = conn.execute(select(audit_log.c.actor, audit_log.c.action, audit_log.c.target)).all()
    assert ("cli", "user.add", "li.clerk") in [tuple(r) for r in rows]


def test_wrong_passwords_lock_the_account_even_for_the_right_one(reg: Registry) -> None:
    add(reg, "wang")
    for _ in range(3):
        with pytest.raises(BadCredentials):
            service.authenticate(reg, username="wang", password="wrong password!", client="a")
    with pytest.raises(LockedOut) as locked:
        service.authenticate(reg, username="wang", password=PW, client="b")
    assert locked.value.retry_after > 0
    service.reset(reg, username="wang", by="cli", new_password=PW)  # an operator's reset unlocks
    assert service.authenticate(reg, username="WANG", password=PW, client="a").username == "wang"


def test_unknown_names_fail_like_wrong_passwords(reg: Registry) -> None:
    with pytest.raises(BadCredentials, match="wrong user name or password"):
        service.authenticate(reg, username="nobody", password=PW, client="a")


def test_sessions_end_when_idle_or_at_their_end(reg: Registry, clock: Clock) -> None:
    uid = add(reg, "chen")
    s = sessions.create(reg, user_id=uid)
    assert sessions.load(reg, s.raw_id) is not None
    clock.t += dt.timedelta(minutes=29)
    assert sessions.load(reg, s.raw_id) is not None  # touched: idle time starts again
    clock.t += dt.timedelta(minutes=31)
    assert sessions.load(reg, s.raw_id) is None
    s2 = sessions.create(reg, user_id=uid)
    end = s2.expires_at.replace(tzinfo=dt.UTC)
    while clock.t + dt.timedelta(minutes=29) < end:  # used all day, never idle for long
        clock.t += dt.timedelta(minutes=29)
        assert sessions.load(reg, s2.raw_id) is not None
    clock.t = end
    assert sessions.load(reg, s2.raw_id) is None


def test_the_table_holds_no_session_id_and_cookies_are_signed(reg: Registry) -> None:
    s = sessions.create(reg)
    with reg.engine.connect() as conn:
        stored = conn.execute(select(user_sessions.c.id_hash)).scalars().all()
    assert s.raw_id not in stored
    cookie = sessions.sign(reg, s.raw_id)
    assert sessions.unsign(reg, cookie) == s.raw_id
    assert sessions.unsign(reg, cookie[:-2] + "xx") is None
    assert sessions.unsign(reg, s.raw_id) is None


def test_rotation_replaces_the_session(reg: Registry) -> None:
    uid = add(reg, "zhao")
    anon = sessions.create(reg)
    signed = sessions.rotate(reg, anon, user_id=uid)
    assert signed.raw_id != anon.raw_id and signed.csrf_token != anon.csrf_token
    assert sessions.load(reg, anon.raw_id) is None


def test_disabling_ends_sessions_and_tokens(reg: Registry) -> None:
    uid = add(reg, "sun", Role.OFFICIAL)
    s = sessions.create(reg, user_id=uid)
    token = service.issue_token(reg, username="sun", by="cli")
    assert service.user_for_token(reg, token) is not None
    service.set_disabled(reg, username="sun", disabled=True, by="cli")
    assert sessions.load(reg, s.raw_id) is None
    assert service.user_for_token(reg, token) is None
    with pytest.raises(BadCredentials):
        service.authenticate(reg, username="sun", password=PW, client="a")


def test_expired_accounts_stop_working(reg: Registry, clock: Clock) -> None:
    user, _ = service.create_user(
        reg,
        username="zhou",
        display_name="z",
        role=Role.OFFICIAL,
        scope=Scope(),
        by="cli",
        password=PW,
        expires_at=dt.datetime(2026, 12, 2),
    )
    token = service.issue_token(reg, username="zhou", by="cli")
    assert service.user_for_token(reg, token) is not None
    clock.t = dt.datetime(2026, 12, 2, 0, 0, 1, tzinfo=dt.UTC)
    assert service.user_for_token(reg, token) is None
    with pytest.raises(BadCredentials):
        service.authenticate(reg, username="zhou", password=PW, client="a")


def test_a_new_token_replaces_the_old(reg: Registry) -> None:
    add(reg, "qian")
    first = service.issue_token(reg, username="qian", by="cli")
    second = service.issue_token(reg, username="qian", by="cli")
    assert service.user_for_token(reg, first) is None
    assert service.user_for_token(reg, second) is not None
    assert service.user_for_token(reg, "sca_" + "x" * 43) is None


def test_totp_enrolment_then_second_factor(reg: Registry) -> None:
    uid = add(reg, "ma")
    user = service.get_user(reg, user_id=uid)
    secret, uri = service.totp_begin(reg, user=user)
    assert secret in uri
    with pytest.raises(BadCredentials):
        service.totp_confirm(reg, user=user, code="000000")
    totp = pyotp.TOTP(secret)
    service.totp_confirm(reg, user=user, code=totp.at(time.time()))
    assert service.get_user(reg, user_id=uid).totp_enabled
    with pytest.raises(BadCredentials):  # the code used to enrol does not sign in again
        service.verify_second_factor(reg, user_id=uid, code=totp.at(time.time()), client="a")
    nxt = totp.at(time.time() + 30)
    assert service.verify_second_factor(reg, user_id=uid, code=nxt, client="a").id == uid
    service.reset(reg, username="ma", by="cli", password=False, totp=True)
    assert not service.get_user(reg, user_id=uid).totp_enabled
