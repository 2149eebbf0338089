"""The watcher that keeps a screening server's index fresh.

:class:`Watcher` looks at the database every ``poll`` seconds, and on a PostgreSQL primary is
woken at once by the NOTIFY the tables' triggers send on commit, so several server processes
stay in step; on a streaming replica it only polls (NOTIFY does not cross to a replica).

A look is one cheap question that says whether anything was committed since the last one
(:mod:`socialcredit.screening.changes`): SQLite's ``PRAGMA data_version``, PostgreSQL's WAL
position with the feeds' highest ids. A refresh round (the feed queries, the key table) runs
only when the answer moved, so an idle server does next to nothing: every process of every
node paid ~1-2% of a core for rounds that found nothing. While nothing moves the poll backs
off to :data:`IDLE_POLL_S`, and snaps back to ``poll`` at the first change.

What a round must not miss, and why the looks still catch it:

- rows appended to the feeds: the position moves (and the ids, which start a round at once);
- anything else committed (API keys, subjects created without records, a late commit filling
  a feed hole): the position moves, and a round starts :data:`FORCE_S` after the look that
  saw it (the screener reloads its key table at most once a second, so a round at once
  might not read it; under steady writes that is a round every ``FORCE_S``, as before);
- a round that read a lot (a feed query reads 100,000 rows at most): another round at once,
  until one finds nothing new;
- whatever else: a round at least every :data:`SAFETY_S`, changed or not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from socialcredit.screening.changes import Look, Position, look_for

log = logging.getLogger(__name__)

FORCE_S = 1.0  # a change the feeds' ids do not show is read within this
SAFETY_S = 10.0  # a round at least this often, whatever the looks say
IDLE_POLL_S = 0.25  # the poll backs off to this while nothing changes
LISTEN_WAIT_S = 1.0  # on a primary, the longest wait for a NOTIFY before looking anyway


class Schedule:
    """When to run a round, from the looks: pure bookkeeping, no I/O, no clock of its own.

    ``due(t, pos)`` for each look taken at monotonic time ``t``; after a round that started at
    ``t`` (its look just before), ``done(t, n)`` with the number of subjects it redid, or
    ``failed()``.
    """

    def __init__(self, poll: float, idle_poll: float = IDLE_POLL_S) -> None:
        self.poll = poll
        self.idle_poll = max(poll, idle_poll)
        self.interval = poll
        self._mark: object = None  # the position's mark at the last look (None: unknown)
        self._ids: tuple[int, ...] | None = None  # the feeds' highest ids at the last round
        self._seen_ids: tuple[int, ...] | None = None
        self._owed: float | None = None  # a round is owed at this time
        self._moved_at = float("-inf")  # the last look that saw the position move
        self._again = True  # the first look always starts a round
        self._last: float | None = None  # the start of the last round that succeeded

    def notified(self) -> None:
        """PostgreSQL said the feeds moved: a round at the next look."""
        self._again = True

    def due(self, t: float, pos: Position) -> bool:
        """Whether a round should start now; also sets :attr:`interval`, the next wait."""
        mark, ids = pos
        moved = mark is None or mark != self._mark
        self._mark, self._seen_ids = mark, ids
        if moved:
            self._moved_at = t
            if self._owed is None:
                self._owed = t + FORCE_S
        run = (
            self._again
            or (moved and (ids is None or ids != self._ids))
            or (self._owed is not None and t >= self._owed)
            or self._last is None
            or t - self._last >= SAFETY_S
        )
        self.interval = self.poll if moved or run else min(self.interval * 2, self.idle_poll)
        return run

    def done(self, t: float, n: object) -> None:
        self._again = isinstance(n, int) and n > 0
        self._ids = self._seen_ids
        if self._owed is not None and t >= self._owed:
            # Moves seen less than FORCE_S before this round are owed one of their own (under
            # steady writes: a round every FORCE_S, never starved by the next move).
            later = self._moved_at > t - FORCE_S
            self._owed = self._moved_at + FORCE_S if later else None
        self._last = t

    def failed(self) -> None:
        self._mark = None  # the next look counts as a change: the round is tried again
        self._again = True

    def wait(self, t: float, longest: float) -> float:
        """Seconds to wait after a look at ``t``: ``longest`` (the interval, when polling),
        ``poll`` when the last round read something, and not past a round that is owed."""
        w = min(self.poll, longest) if self._again else longest
        if self._owed is not None:
            w = min(w, max(self._owed - t, 0.0))
        if self._last is not None:
            w = min(w, max(self._last + SAFETY_S - t, 0.0))
        return w


class Watcher:
    """Looks every ``poll`` seconds (backing off while idle) and runs ``refresh`` when the
    database moved (see the module docstring); on a PostgreSQL primary also woken by NOTIFY.

    On a streaming replica (``probe``) there is no NOTIFY (LISTEN is refused during
    recovery, and a notification is not replicated anyway): the look there is the replica's
    replay position and the feeds' highest ids, one cheap round trip.

    ``caught_up`` is the monotonic time at which the index last reflected everything the
    database it reads showed (the last look that found nothing new, or the start of the last
    round that succeeded); readiness is judged on its age. ``error`` is the last look's or
    round's failure, None after a success.
    """

    def __init__(
        self,
        engine: Engine,
        refresh: Callable[[], object],
        poll: float = 0.1,
        probe: bool = False,
        look: Look | None = None,
    ) -> None:
        self._look = look if look is not None else look_for(engine, listen=not probe)
        self._refresh = refresh
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.schedule = Schedule(poll)
        self.rounds = 0
        self.looks = 0
        self.caught_up: float | None = None
        self.error: str | None = None

    def start(self) -> None:
        self.caught_up = time.monotonic()  # the runtime opened caught up
        self._thread = threading.Thread(target=self._run, name="screening-watcher", daemon=True)
        self._thread.start()

    def _round(self, t: float) -> None:
        try:
            n = self._refresh()
        except Exception as e:
            self.schedule.failed()
            self._failed(e)
            return
        self.rounds += 1
        self.schedule.done(t, n)
        self.caught_up, self.error = t, None

    def _failed(self, e: Exception) -> None:
        self.error = f"{type(e).__name__}: {e}".replace("\n", " ")[:300]
        log.warning("screening watcher: reading the database failed, will retry: %s", self.error)
        self._stop.wait(1.0)

    def _run(self) -> None:
        look = self._look
        try:
            while not self._stop.is_set():
                self._step(look)
        finally:
            look.close()

    def _step(self, look: Look) -> None:
        t = time.monotonic()
        try:
            pos = look.position()
        except Exception as e:
            look.close()  # a fresh connection next time
            self.schedule.failed()
            self._failed(e)
            return
        self.looks += 1
        if self.schedule.due(t, pos):
            self._round(t)
        else:
            self.caught_up, self.error = t, None
        t = time.monotonic()
        if not look.listening:
            self._stop.wait(self.schedule.wait(t, self.schedule.interval))
        elif look.wait(self.schedule.wait(t, LISTEN_WAIT_S)):
            self.schedule.notified()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
