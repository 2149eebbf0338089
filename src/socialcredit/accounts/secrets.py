"""Password hashing (Argon2id), one-time passwords, TOTP and API tokens: the cryptography of
accounts in one place, free of I/O."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from socialcredit.errors import InvalidInput

# argon2-cffi's defaults follow RFC 9106's second recommendation (Argon2id, 64 MiB, t=3).
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy() -> str:
    """A hash of a password nobody has: verifying against it when the user name is unknown
    makes an unknown name cost the same time as a wrong password (made on first use, not at
    import: every CLI start imports this module)."""
    return _hasher.hash(secrets.token_urlsafe(16))


PASSWORD_MIN = 10
PASSWORD_MAX = 256
TOKEN_PREFIX = "sca_"
ISSUER = "socialcredit"


def check_password_policy(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise InvalidInput.one("password", f"must be at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise InvalidInput.one("password", f"must be at most {PASSWORD_MAX} characters")


def hash_password(password: str) -> str:
    check_password_policy(password)
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; ``None`` (no such user) costs the same."""
    try:
        return _hasher.verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def one_time_password() -> str:
    """A password for a new or reset account, shown once; the user must change it."""
    return secrets.token_urlsafe(12)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def totp_step(secret: str, code: str, at: float, last_step: int | None) -> int | None:
    """The time step ``code`` is valid for (this one or either neighbour, for clock drift),
    or ``None``. A step at or before ``last_step`` is refused: a code works once."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(at) // totp.interval
    for step in (now_step, now_step - 1, now_step + 1):
        if last_step is not None and step <= last_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_api_token() -> tuple[str, str]:
    """``(token, its hash)``: the token is shown once, only the hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
