"""The watcher that keeps a screening server's index fresh.

:class:`Watcher` polls the change feeds every ``poll`` seconds and, on PostgreSQL, is woken at
once by the NOTIFY the tables' triggers send on commit, so several server processes stay in
step; on a streaming replica it probes the feeds' highest ids instead (NOTIFY does not cross
to a replica).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from socialcredit.store.tables_screening import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


class Watcher:
    """Calls ``refresh`` every ``poll`` seconds, or at once when PostgreSQL notifies.

    On a streaming replica (``probe``) there is no NOTIFY (LISTEN is refused during
    recovery, and a notification is not replicated anyway), so the watcher asks the replica
    every ``poll`` seconds for the feeds' highest ids, one cheap index-only query, and
    refreshes when they moved, or at least every ``FORCE_S`` (API keys, subjects created
    without records and feed holes are re-read there).

    ``caught_up`` is the monotonic time at which the index last reflected everything the
    database it reads showed (the start of the last round that succeeded); readiness is
    judged on its age. ``error`` is the last round's failure, None after a success.
    """

    FORCE_S = 1.0
    PROBE_SQL = (
        "SELECT (SELECT coalesce(max(id), 0) FROM records),"
        " (SELECT coalesce(max(id), 0) FROM record_events),"
        " (SELECT coalesce(max(id), 0) FROM subject_changes)"
    )

    def __init__(
        self,
        engine: Engine,
        refresh: Callable[[], object],
        poll: float = 0.1,
        probe: bool = False,
    ) -> None:
        self._engine = engine
        self._refresh = refresh
        self._poll = poll
        self._probe = probe
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.caught_up: float | None = None
        self.error: str | None = None

    def start(self) -> None:
        self.caught_up = time.monotonic()  # the runtime opened caught up
        target = self._run_probing if self._probe else self._run
        self._thread = threading.Thread(target=target, name="screening-watcher", daemon=True)
        self._thread.start()

    def _round(self) -> None:
        t = time.monotonic()
        try:
            self._refresh()
        except Exception as e:
            self._failed(e)
            return
        self.rounds += 1
        self.caught_up, self.error = t, None

    def _failed(self, e: Exception) -> None:
        self.error = f"{type(e).__name__}: {e}".replace("\n", " ")[:300]
        log.warning("screening watcher: refresh failed, will retry: %s", self.error)
        self._stop.wait(1.0)

    def _run_probing(self) -> None:
        last: tuple[Any, ...] | None = None
        refreshed = 0.0
        while not self._stop.is_set():
            t = time.monotonic()
            try:
                with self._engine.connect() as conn:
                    seen = tuple(conn.exec_driver_sql(self.PROBE_SQL).one())
            except Exception as e:
                self._failed(e)
                continue
            if seen != last or t - refreshed >= self.FORCE_S:
                self._round()
                if self.error is None:
                    last, refreshed = seen, t
            else:
                self.caught_up, self.error = t, None
            self._stop.wait(self._poll)

    def _listener(self) -> Any:
        if self._engine.dialect.name != "postgresql":
            return None
        import psycopg

        url = self._engine.url.set(drivername="postgresql")
        try:
            conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            return conn
        except Exception:
            log.exception("screening watcher: LISTEN failed; polling only")
            return None

    def _run(self) -> None:
        listener = self._listener()
        try:
            while not self._stop.is_set():
                self._round()
                if listener is None:
                    self._stop.wait(self._poll)
                    continue
                try:  # woken by a commit; else poll anyway after a second
                    for _ in listener.notifies(timeout=1.0, stop_after=1):
                        break
                except Exception:
                    log.exception("screening watcher: lost the LISTEN connection; polling")
                    listener.close()
                    listener = None
        finally:
            if listener is not None:
                listener.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
