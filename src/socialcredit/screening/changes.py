"""Has anything been committed since the last look? One cheap question to the database.

The screening watcher (:mod:`socialcredit.screening.watcher`) asks it every poll and runs a
refresh round (several feed queries through SQLAlchemy, ~0.3-2 ms of CPU) only when the
answer moved. A look is a :data:`Position`, ``(mark, ids)``:

- ``mark`` moves whenever anything is committed to the database the server reads; None when
  it cannot be told (then every look counts as a change, the old behaviour);
- ``ids`` are the feeds' highest ids when the look can have them for free (PostgreSQL), so a
  commit that appended to no feed (a screening log batch) starts no round at once; None when
  the round itself is the probe (SQLite).

Each look keeps a DBAPI connection of its own, outside the engine's pool machinery (a
pre-pinged checkout, BEGIN and ROLLBACK cost ten times the question):

- SQLite: ``PRAGMA data_version``, which moves when any other connection commits (a few
  microseconds; no read transaction is left open, so checkpoints are not held up);
- PostgreSQL: the WAL position and the three feeds' ``max(id)`` (index-only), one round
  trip. On a replica the replay position: a commit is visible there once replayed. On a
  primary the flush position: a commit is visible at most microseconds after its record is
  flushed (or, with ``synchronous_commit`` off, before), and a round owed a second after the
  position moved catches that window. The same connection LISTENs for the NOTIFY the feeds'
  triggers send on commit, which starts a round at once.

A look's mark is only compared with the same connection's: a new connection (after a
failure) counts as a change.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy import Engine

from socialcredit.store.tables_screening import NOTIFY_CHANNEL

log = logging.getLogger(__name__)

Position = tuple[object, tuple[int, ...] | None]

POSITION_SQL = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
    " ELSE pg_current_wal_flush_lsn() END::text,"
    " (SELECT coalesce(max(id), 0) FROM records),"
    " (SELECT coalesce(max(id), 0) FROM record_events),"
    " (SELECT coalesce(max(id), 0) FROM subject_changes)"
)
CONNECT_TIMEOUT_S = 10


class Look(Protocol):
    listening: bool  # a NOTIFY can wake the watcher (wait() is worth calling)

    def position(self) -> Position: ...

    def wait(self, timeout: float) -> bool:
        """Until notified (True) or ``timeout`` seconds have passed (False)."""
        ...

    def close(self) -> None: ...


class Blind:
    """No cheap question for this database: every look is a change."""

    listening = False

    def position(self) -> Position:
        return None, None

    def wait(self, timeout: float) -> bool:
        return False

    def close(self) -> None:
        return None


class SqliteLook:
    """``PRAGMA data_version`` on a connection of the engine's that only ever asks that."""

    listening = False

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Any = None

    def position(self) -> Position:
        if self._conn is None:
            self._conn = self._engine.raw_connection()
        row = self._conn.driver_connection.execute("PRAGMA data_version").fetchone()
        return int(row[0]), None

    def wait(self, timeout: float) -> bool:
        return False

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()  # back to the engine's pool
            except Exception:
                log.debug("closing the watcher's SQLite connection failed", exc_info=True)


class PostgresLook:
    """The WAL position and the feeds' highest ids on a psycopg connection of its own, which
    on a primary (``listen``) also LISTENs. Reconnects (and LISTENs again) on the next look
    after any failure; a NOTIFY missed meanwhile is covered by the position moving."""

    def __init__(self, engine: Engine, listen: bool) -> None:
        self._url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._listen = listen
        self._conn: Any = None
        self.listening = False

    def _connect(self) -> Any:
        import psycopg

        conn = psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        if self._listen:
            try:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                self.listening = True
            except psycopg.Error:
                log.exception("screening watcher: LISTEN failed; polling only")
                self._listen = False
        return conn

    def position(self) -> Position:
        if self._conn is None:
            self._conn = self._connect()
        row = self._conn.execute(POSITION_SQL).fetchone()
        return row[0], (int(row[1]), int(row[2]), int(row[3]))

    def wait(self, timeout: float) -> bool:
        if self._conn is None or not self.listening:
            return False
        try:
            gen = self._conn.notifies(timeout=timeout, stop_after=1)
            try:
                woken = next(gen, None) is not None
            finally:
                gen.close()  # it holds the connection's lock until closed
            if woken:  # a burst of commits wakes one round
                for _ in self._conn.notifies(timeout=0):
                    pass
            return woken
        except Exception:
            log.exception("screening watcher: lost the LISTEN connection; reconnecting")
            self.close()
            return True  # a NOTIFY may have been lost: look, and run a round

    def close(self) -> None:
        conn, self._conn = self._conn, None
        self.listening = False
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("closing the watcher's connection failed", exc_info=True)


def look_for(engine: Engine, listen: bool) -> Look:
    """The cheapest look ``engine``'s database allows; ``listen`` for NOTIFY (a primary)."""
    name = engine.dialect.name
    if name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return SqliteLook(engine)
    if name == "postgresql":
        return PostgresLook(engine, listen)
    return Blind()
