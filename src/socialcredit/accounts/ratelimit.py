"""Sign-in rate limits over the ``limits`` library (Warehouse's ``rate_limiting``).

Two named limits from settings, each a moving window: ``user.login`` per account name and
``ip.login`` per client address. A sign-in first *tests* both (refusing with
:class:`LockedOut` and the seconds until the window frees a slot), and *hits* them only when it
fails, so a person who types their password right is never counted. An account past its limit
is locked until the window passes, even for the right password: that is what makes guessing
pointless. The account's key includes a piece of its password hash (``service._limit_key``),
so an operator's password reset lifts the lock in every process, whatever the storage.
Storage comes from one URL: ``memory://`` (one process) or ``redis://...`` when several
workers or nodes must share the counts.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from socialcredit.accounts.errors import LockedOut
from socialcredit.settings import Settings


class LoginLimiter:
    def __init__(self, storage_url: str, per_user: str, per_ip: str) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url))
        self._user = parse(per_user)
        self._ip = parse(per_ip)

    def _keys(self, username: str, ip: str) -> list[tuple[RateLimitItem, str, str]]:
        return [(self._user, "user.login", username), (self._ip, "ip.login", ip)]

    def check(self, username: str, ip: str) -> None:
        """Raise :class:`LockedOut` if either limit is used up."""
        for item, name, key in self._keys(username, ip):
            if not self._limiter.test(item, name, key):
                reset = self._limiter.get_window_stats(item, name, key).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                raise LockedOut(
                    f"too many failed sign-ins; try again in {math.ceil(wait / 60)} minute(s)",
                    retry_after=wait,
                )

    def failed(self, username: str, ip: str) -> None:
        for item, name, key in self._keys(username, ip):
            self._limiter.hit(item, name, key)


@lru_cache(maxsize=8)
def _limiter(storage_url: str, per_user: str, per_ip: str) -> LoginLimiter:
    return LoginLimiter(storage_url, per_user, per_ip)


def login_limiter(settings: Settings) -> LoginLimiter:
    """The process's limiter for these settings (one storage per URL, made once)."""
    return _limiter(
        settings.ratelimit_storage_url, settings.login_limit_user, settings.login_limit_ip
    )
