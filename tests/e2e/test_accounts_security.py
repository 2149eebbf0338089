"""Refusals of the accounts layer over real HTTP, on SQLite and PostgreSQL: session fixation,
CSRF, brute force, roles, disabled and expired accounts, idle sessions, API tokens, headers.

One server per backend for the module (``srv``); each test uses its own user names, so the
per-account lockout of one test does not touch another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from socialcredit.web.csp import DOCS_POLICY, POLICY
from tests.e2e.accounts_support import (
    OPERATOR_TOKEN,
    PASSWORD,
    Server,
    csrf_of,
    running_server,
    sign_in,
)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def srv(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("accounts")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'registry.db'}"
    else:
        from tests.conftest import _new_pg_database

        host, port = request.getfixturevalue("pg_server")
        url = _new_pg_database(host, port)
    with running_server(url, tmp) as s:
        yield s


@pytest.fixture
def client(srv: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.base, follow_redirects=False, timeout=30) as c:
        yield c


def test_bootstrap_makes_the_first_operator_only(srv: Server, client: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    r = client.post("/v1/accounts/bootstrap", json={"username": "root.op"}, headers=auth)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["user"]["role"] == "operator" and first["password"]
    me = client.get("/v1/accounts/me", headers={"Authorization": f"Bearer {first['api_token']}"})
    assert me.json()["username"] == "root.op"
    again = client.post("/v1/accounts/bootstrap", json={"username": "second"}, headers=auth)
    assert again.status_code == 409
    # The one-time password must be changed before any other page opens.
    assert sign_in(client, "root.op", first["password"]).headers["location"] == "/account"
    assert client.get("/admin/users").headers["location"] == "/account"
    page = client.get("/account")
    changed = client.post(
        "/account/password",
        data={
            "current": first["password"],
            "new": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": csrf_of(page.text),
        },
    )
    assert changed.status_code == 303
    assert client.get("/admin/users").status_code == 200


def test_the_session_id_changes_at_sign_in(srv: Server, client: httpx.Client) -> None:
    srv.add_user("fix.victim", "official")
    client.get("/login")
    planted = client.cookies["sc_session"]
    assert sign_in(client, "fix.victim").status_code == 303
    assert client.cookies["sc_session"] != planted
    with httpx.Client(base_url=srv.base, cookies={"sc_session": planted}) as attacker:
        r = attacker.get("/account", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_form_without_its_csrf_token_is_refused(srv: Server, client: httpx.Client) -> None:
    srv.add_user("csrf.user", "official")
    page = client.get("/login")
    bare = client.post("/login", data={"username": "csrf.user", "password": PASSWORD})
    assert bare.status_code == 403 and "该表单已过期或并非来自本网站" in bare.text
    assert "sc_session" in client.cookies and csrf_of(page.text)
    assert sign_in(client, "csrf.user").status_code == 303
    for data in ({}, {"csrf_token": "forged"}):
        r = client.post("/account/token", data=data)
        assert r.status_code == 403, r.text
    client.cookies.set("_LOCALE_", "en")
    en = client.post("/account/token", data={})
    assert en.status_code == 403 and "did not come from this site" in en.text
    me = client.get("/v1/accounts/me").json()
    assert me["has_api_token"] is False  # none of the refused posts made one
    # A cookie-authenticated JSON call that changes something needs the token too.
    assert client.post("/account/token", headers={"X-CSRF-Token": "forged"}).status_code == 403


def test_brute_force_locks_the_account_with_a_clear_message(
    srv: Server, client: httpx.Client
) -> None:
    srv.add_user("brute.target", "official")
    for _ in range(5):
        assert sign_in(client, "brute.target", "not the password").status_code == 401
    locked = sign_in(client, "brute.target")  # even the right password
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "登录失败次数过多，该账户已被锁定" in locked.text
    en = client.get("/login", headers={"Accept-Language": "en"})
    r = client.post(
        "/login",
        data={"username": "brute.target", "password": PASSWORD, "csrf_token": csrf_of(en.text)},
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    reset = srv.cli("user", "reset", "brute.target", "--password-stdin", stdin=PASSWORD + "\n")
    assert reset.returncode == 0, reset.stderr
    assert sign_in(client, "brute.target").headers["location"] == "/account"


def test_a_clerk_cannot_reach_the_operators_pages(srv: Server, client: httpx.Client) -> None:
    srv.add_user("caac.clerk", "clerk", "--authority", "CAAC")
    assert sign_in(client, "caac.clerk").status_code == 303
    r = client.get("/admin/users")
    assert r.status_code == 403 and "无权访问" in r.text
    token = csrf_of(client.get("/account").text)
    add = client.post(
        "/admin/users",
        data={"username": "sneaky", "display_name": "x", "role": "operator", "csrf_token": token},
    )
    assert add.status_code == 403
    listed = srv.cli("user", "list", "--json")
    assert "sneaky" not in listed.stdout


def test_a_disabled_accounts_session_and_token_stop_working(
    srv: Server, client: httpx.Client
) -> None:
    srv.add_user("to.disable", "official")
    sign_in(client, "to.disable")
    token = srv.cli("user", "token", "to.disable").stdout.strip().rsplit(" ", 1)[-1]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/accounts/me", headers=bearer).status_code == 200
    assert client.get("/account").status_code == 200
    assert srv.cli("user", "disable", "to.disable").returncode == 0
    assert client.get("/account").headers["location"].startswith("/login")
    with httpx.Client(base_url=srv.base) as c:
        assert c.get("/v1/accounts/me", headers=bearer).status_code == 401
    assert sign_in(client, "to.disable").status_code == 401


def test_an_expired_account_stops_working(srv: Server, client: httpx.Client) -> None:
    now = srv.now()
    until = (now + dt.timedelta(hours=1)).isoformat()
    r = srv.cli(
        "user",
        "add",
        "temp.staff",
        "--role",
        "official",
        "--expires",
        until,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert r.returncode == 0, r.stderr
    token = srv.cli("user", "token", "temp.staff").stdout.strip().rsplit(" ", 1)[-1]
    bearer = {"Authorization": f"Bearer {token}"}
    sign_in(client, "temp.staff")
    try:
        srv.set_now(now + dt.timedelta(minutes=20))
        assert client.get("/account").status_code == 200
        assert client.get("/v1/accounts/me", headers=bearer).status_code == 200
        srv.set_now(now + dt.timedelta(minutes=61))
        assert client.get("/account").headers["location"].startswith("/login")
        assert client.get("/v1/accounts/me", headers=bearer).status_code == 401
        assert sign_in(client, "temp.staff").status_code == 401
    finally:
        srv.set_now(now)


def test_an_idle_session_ends(srv: Server, client: httpx.Client) -> None:
    srv.add_user("idle.staff", "official")
    now = srv.now()
    sign_in(client, "idle.staff")
    try:
        srv.set_now(now + dt.timedelta(minutes=29))
        assert client.get("/account").status_code == 200  # a request: idle time starts again
        srv.set_now(now + dt.timedelta(minutes=29 + 29))
        assert client.get("/account").status_code == 200
        srv.set_now(now + dt.timedelta(minutes=29 + 29 + 31))  # the default is 30 minutes
        assert client.get("/account").headers["location"].startswith("/login")
    finally:
        srv.set_now(now)


def test_api_tokens_authenticate_and_wrong_ones_are_401(srv: Server, client: httpx.Client) -> None:
    srv.add_user("api.user", "party_clerk", "--party", "AIR-CA")
    token = srv.cli("user", "token", "api.user").stdout.strip().rsplit(" ", 1)[-1]
    me = client.get("/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["party"] == "AIR-CA"
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "sca_nope", OPERATOR_TOKEN):
        r = client.get("/v1/accounts/me", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert client.get("/v1/accounts/me").status_code == 401


def test_pages_carry_the_policy_and_cookies_their_flags(srv: Server, client: httpx.Client) -> None:
    page = client.get("/login")
    assert page.headers["content-security-policy"] == POLICY
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline
    assert client.get("/docs").headers["content-security-policy"] == DOCS_POLICY
    health = client.get("/health")
    assert "content-security-policy" not in health.headers
    assert client.get("/static/app/site.css").status_code == 200


def test_the_language_switch_and_accept_language(srv: Server, client: httpx.Client) -> None:
    assert '<html lang="zh-Hans">' in client.get("/login").text
    assert "Staff sign-in" in client.get("/login", headers={"Accept-Language": "en"}).text
    switched = client.get("/locale", params={"l": "en", "next": "/login"})
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    assert "Staff sign-in" in client.get("/login").text  # the cookie now wins
    away = client.get("/locale", params={"l": "zh_Hans", "next": "https://evil.example/"})
    assert away.headers["location"] == "/"
    assert "工作人员登录" in client.get("/login", headers={"Accept-Language": "en"}).text
