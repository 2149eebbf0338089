"""Accounts without a database: role scopes, password and TOTP checks, the CSP header."""

from __future__ import annotations

import time

import pyotp
import pytest

from socialcredit.accounts import secrets as sec
from socialcredit.accounts.model import Role, Scope
from socialcredit.errors import InvalidInput
from socialcredit.web.csp import POLICY


@pytest.mark.parametrize(
    ("role", "scope", "ok"),
    [
        (Role.OPERATOR, Scope(), True),
        (Role.OPERATOR, Scope(authority="CAAC"), False),
        (Role.CLERK, Scope(authority="CAAC"), True),
        (Role.CLERK, Scope(), False),
        (Role.REVIEWER, Scope(review_body="registry", review_level="first"), True),
        (Role.REVIEWER, Scope(review_body="registry"), False),
        (Role.REVIEWER, Scope(review_body="registry", review_level="top"), False),
        (Role.OFFICIAL, Scope(), True),
        (Role.OFFICIAL, Scope(party="AIR-CA"), False),
        (Role.PARTY_CLERK, Scope(party="AIR-CA"), True),
        (Role.PARTY_CLERK, Scope(authority="CAAC"), False),
    ],
)
def test_each_role_takes_its_scope_and_no_other(role: Role, scope: Scope, ok: bool) -> None:
    assert (scope.check(role) == []) is ok


def test_passwords_hash_with_argon2id_and_verify() -> None:
    h = sec.hash_password("correct horse battery")
    assert h.startswith("$argon2id$")
    assert sec.verify_password(h, "correct horse battery")
    assert not sec.verify_password(h, "correct horse batterY")
    assert not sec.verify_password(None, "anything at all")
    with pytest.raises(InvalidInput):
        sec.hash_password("short")


def test_a_totp_code_works_once_and_only_near_its_time() -> None:
    secret = sec.new_totp_secret()
    now = time.time()
    code = pyotp.TOTP(secret).at(now)
    step = sec.totp_step(secret, code, now, None)
    assert step is not None
    assert sec.totp_step(secret, code, now, step) is None  # replay refused
    assert sec.totp_step(secret, code, now + 600, None) is None  # ten minutes later
    assert sec.totp_step(secret, "12345", now, None) is None
    assert sec.totp_uri(secret, "zhang.wei").startswith("otpauth://totp/socialcredit:zhang.wei")


def test_api_tokens_are_stored_as_hashes() -> None:
    token, digest = sec.new_api_token()
    assert token.startswith("sca_") and len(token) > 40
    assert digest == sec.token_hash(token) and token not in digest


def test_the_policy_is_the_documented_one() -> None:
    assert POLICY == (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
