"""Budgets against guessing names through the screening API (OWASP API6: sensitive flows).

A relying party must send the name with the ID, so that nobody can fish the lists with bare
numbers; but a party that can try names without limit recovers a listed person's real name
(and their decision) in one batch. :class:`NameGuard` gives each (party, ID) pair a budget of
failed name checks (``name_check_failures``, e.g. ``5/24 hours``), counted across single and
batch screenings; past it the ID answers that party ``name_checks_exhausted`` until the window
frees a slot, whatever name is sent. The answer is the same for listed, unlisted and unknown
IDs (every failure counts the same way), so the budget itself tells nothing.

The counters are the ``limits`` library's, in the storage named by ``limits_storage_url``
(``memory://`` per process; ``redis://`` shares them between servers). The hot path touches
them only on a failure: a right name costs one dict lookup (is the pair blocked?). With a
shared storage a pair blocked by another process is also checked there (one round trip).

A party's name refusals past ``name_refusal_alert`` raise an operator alert (once a window):
a log line and a row in ``operator_alerts``, written off the request path.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from limits import RateLimitItem, parse, storage, strategies
from sqlalchemy import Engine, insert

from socialcredit.errors import RegistryError
from socialcredit.store.tables_screening import operator_alerts

log = logging.getLogger("socialcredit.screening.alerts")


class NameChecksExhausted(RegistryError):
    status = 429
    code = "name_checks_exhausted"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "too many failed name checks for this subject_id from your party; "
            f"retry after {retry_after} s with the name as read from the ID card"
        )
        self.retry_after = retry_after


class NameGuard:
    def __init__(
        self,
        storage_url: str = "memory://",
        failures: str = "5/24 hours",
        alert: str = "200/minute",
        on_alert: Callable[[str, str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.shared = not storage_url.startswith("memory")
        self._limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_url))
        self._failures: RateLimitItem = parse(failures)
        self._alert: RateLimitItem = parse(alert)
        self._on_alert = on_alert
        self._clock = clock
        self._blocked: dict[tuple[str, str], float] = {}  # (party, ID) -> blocked until
        self._alerted: dict[str, float] = {}  # party -> its alert window's end
        self.budget = self._failures.amount

    def blocked(self, party: str, subject_id: str) -> int | None:
        """Seconds until ``party`` may check a name for ``subject_id`` again, or None."""
        until = self._blocked.get((party, subject_id))
        if until is not None:
            left = until - self._clock()
            if left > 0:
                return max(1, int(left + 0.999))
            self._blocked.pop((party, subject_id), None)
        if self.shared and not self._limiter.test(self._failures, "name", party, subject_id):
            return self._block(party, subject_id)
        return None

    def blocked_here(self, party: str) -> set[str] | None:
        """The IDs this process knows :meth:`blocked` refuses for ``party`` now (a batch
        block checks its rows against it at once); None with a shared storage, where
        another process may have blocked any ID: then ask :meth:`blocked` for each."""
        if self.shared:
            return None
        now = self._clock()
        return {i for (p, i), until in list(self._blocked.items()) if p == party and until > now}

    def failed(self, party: str, subject_id: str) -> None:
        """Count one failed name check against the (party, ID) budget."""
        if not self._limiter.hit(self._failures, "name", party, subject_id):
            self._block(party, subject_id)
        elif self._limiter.get_window_stats(self._failures, "name", party, subject_id)[1] <= 0:
            self._block(party, subject_id)  # the budget is spent: the next try is refused
        self.refused(party)

    def refused(self, party: str) -> None:
        """Count one name refusal of ``party`` towards its alert rate."""
        if not self._limiter.hit(self._alert, "refusals", party):
            self._raise_alert(party)

    def _block(self, party: str, subject_id: str) -> int:
        reset = self._limiter.get_window_stats(self._failures, "name", party, subject_id)[0]
        until = max(reset, self._clock() + 1.0)
        if len(self._blocked) > 100_000:  # bounded: drop the expired
            now = self._clock()
            self._blocked = {k: v for k, v in self._blocked.items() if v > now}
        self._blocked[(party, subject_id)] = until
        return max(1, int(until - self._clock() + 0.999))

    def _raise_alert(self, party: str) -> None:
        now = self._clock()
        if self._alerted.get(party, 0.0) > now:
            return
        self._alerted[party] = now + self._alert.get_expiry()
        detail = f"name refusals for {party} passed {self._alert}"
        log.warning("ALERT name_refusal_spike: %s", detail)
        if self._on_alert is not None:
            self._on_alert(party, detail)


class AlertWriter:
    """Writes an alert row from a short-lived thread: never on the request path. ``join``
    waits for the writes in flight (the runtime's ``stop`` calls it)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._threads: list[threading.Thread] = []

    def __call__(self, party: str, detail: str) -> None:
        t = threading.Thread(target=self._write, args=(party, detail), name="operator-alert")
        self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()

    def _write(self, party: str, detail: str) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    insert(operator_alerts).values(
                        at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                        kind="name_refusal_spike",
                        relying_party=party,
                        detail=detail,
                    )
                )
        except Exception:
            log.exception("could not store the alert for %s", party)

    def join(self, timeout: float = 10.0) -> None:
        for t in self._threads:
            t.join(timeout)
