"""The screening server's log writer: every answer and refusal, appended in batches.

- :class:`LogWriter` appends screenings (and refusals) to the store in batches from a thread,
  so a screening never waits on SQL. Rows wait in memory at most ``interval`` seconds; a crash
  can lose that much of the log, a clean shutdown loses nothing (``close`` flushes). A row is a
  tuple in the order of :data:`SCREENING_COLUMNS` / :data:`REFUSAL_COLUMNS`, written by the
  driver's ``executemany`` with no per-row SQLAlchemy work: the writer shares the GIL with the
  event loop, and every microsecond it holds it is one a screening waits.

The watcher that keeps the index fresh is :mod:`socialcredit.screening.watcher`; rate limits
are :mod:`socialcredit.screening.limits` (the ``limits`` library, memory or Redis).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import deque
from collections.abc import Iterable
from itertools import repeat
from typing import Any

from sqlalchemy import Connection, Engine, Table

from socialcredit.integrity import lock_log
from socialcredit.screening.logblocks import (
    block_cache,
    copy_columns,
    copy_rows,
    insert_json,
    log_block,
)
from socialcredit.store.tables_screening import screening_log, screening_refusals

log = logging.getLogger(__name__)

SCREENING_COLUMNS = (
    "screening_id",
    "at",
    "relying_party",
    "subject_id",
    "sector",
    "purpose",
    "reference",
    "decision",
    "reason_code",
    "rulepack_version",
)
REFUSAL_COLUMNS = (
    "at",
    "relying_party",
    "key_prefix",
    "sector",
    "purpose",
    "reference",
    "reason",
    "subject_id",
)
Row = tuple[Any, ...]
BLOCK_TRANSACTION_ROWS = 250_000  # blocks' rows a transaction, about (see LogWriter)


class LogBlock:
    """Many screenings' log rows as columns (a batch manifest's block): each of
    :data:`SCREENING_COLUMNS` is a pyarrow string array of ``n`` values or one value for all
    (``at`` is one Unix time). Pickled as Arrow buffers, not a tuple a row, on its way to the
    writer process, and made rows only there."""

    def __init__(self, n: int, columns: dict[str, Any]) -> None:
        self.n = n
        self.columns = columns

    def rows(self, at: Any) -> list[Row]:
        """The rows, in the order of SCREENING_COLUMNS, with ``at`` as the driver takes it."""
        cols = []
        for name in SCREENING_COLUMNS:
            v = at if name == "at" else self.columns[name]
            cols.append(v.to_pylist() if hasattr(v, "to_pylist") else repeat(v, self.n))
        return list(zip(*cols, strict=False))


def from_epoch(t: float) -> dt.datetime:
    """A row's ``at`` given as Unix time, as the naive UTC datetime the tables store."""
    return dt.datetime.fromtimestamp(t, dt.UTC).replace(tzinfo=None)


class _Insert:
    """One table's INSERT in the driver's own paramstyle, with the columns' bind processors
    (on SQLite, ``DateTime`` becomes the text SQLAlchemy itself would store). A row's ``at``
    may be Unix time (a float: what the server queues, ~10x cheaper to take and to pickle
    than a datetime) or a naive UTC datetime."""

    def __init__(self, engine: Engine, table: Table, columns: tuple[str, ...]) -> None:
        self.table = table
        d = engine.dialect
        mark = "?" if d.paramstyle == "qmark" else "%s"
        self.sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        procs = [table.c[c].type.dialect_impl(d).bind_processor(d) for c in columns]
        self.procs = [(i, p) for i, p in enumerate(procs) if p is not None]
        self.at = columns.index("at") if "at" in columns else -1

    def params(self, rows: list[Row]) -> list[Row]:
        at, procs = self.at, self.procs
        if at < 0 and not procs:
            return rows
        out = []
        for r in rows:
            v = list(r)
            if at >= 0 and type(v[at]) is float:
                v[at] = from_epoch(v[at])
            for i, p in procs:
                v[i] = p(v[i])
            out.append(tuple(v))
        return out


def _block_at(stmt: _Insert, block: LogBlock) -> Any:
    """A block's ``at`` as the driver takes it, converted once for the block (no other
    column of the log has a bind processor: checked)."""
    at = block.columns["at"]
    value = from_epoch(at) if type(at) is float else at
    for i, p in stmt.procs:
        if i == stmt.at:
            value = p(value)
        else:
            raise TypeError(f"column {SCREENING_COLUMNS[i]} needs a bind processor")
    return value


def _columns(rows: list[Row]) -> dict[str, Any]:
    """Screening rows as columns (lists; ``at`` as the naive UTC datetime stored)."""
    cols = dict(zip(SCREENING_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))
    cols["at"] = [from_epoch(v) if type(v) is float else v for v in cols["at"]]
    return cols


class LogWriter:
    def __init__(self, engine: Engine, interval: float = 0.2, max_batch: int = 20_000) -> None:
        self._engine = engine
        self._interval = interval
        self._max = max_batch
        self._screenings: deque[Row] = deque()
        self._refusals: deque[Row] = deque()
        self._blocks: deque[LogBlock] = deque()
        self._inserts = (
            (self._screenings, _Insert(engine, screening_log, SCREENING_COLUMNS)),
            (self._refusals, _Insert(engine, screening_refusals, REFUSAL_COLUMNS)),
        )
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one flush at a time
        self.written = 0

    def screening(self, row: Row) -> None:
        self._screenings.append(row)  # deque.append is atomic: no lock on the hot path
        if len(self._screenings) >= self._max:
            self._wake.set()

    def screenings(self, rows: Iterable[Row]) -> None:
        """Many rows at once (a batch manifest's block), in order."""
        self._screenings.extend(rows)
        if len(self._screenings) >= self._max:
            self._wake.set()

    def screening_block(self, block: LogBlock) -> None:
        """A block of screenings as columns (see :class:`LogBlock`), inserted in one go."""
        self._blocks.append(block)
        self._wake.set()

    def refusal(self, row: Row) -> None:
        self._refusals.append(row)

    def pending(self) -> int:
        """Rows queued and not yet written."""
        return len(self._screenings) + len(self._refusals) + sum(b.n for b in self._blocks)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="screening-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # keep the rows; the next round retries
                log.exception("screening log: write failed, will retry")
                self._stop.wait(1.0)

    def flush(self) -> int:
        """Write everything queued; returns the number of rows written."""
        with self._lock:
            blocks = self._flush_blocks()  # counted in ``written`` as each commits
            n = 0
            for queue, stmt in self._inserts:
                while queue:
                    batch: list[Row] = []
                    while queue and len(batch) < self._max:
                        batch.append(queue.popleft())
                    try:
                        with self._engine.begin() as conn:
                            if stmt.table is screening_log:
                                lock_log(conn)  # ids of this batch consecutive, on PG too
                            conn.exec_driver_sql(stmt.sql, stmt.params(batch))
                            if stmt.table is screening_log:
                                log_block(conn, len(batch), _columns(batch))
                    except Exception:
                        queue.extendleft(reversed(batch))
                        raise
                    n += len(batch)
            self.written += n
            return blocks + n

    def flush_step(self) -> int:
        """Write the queued blocks if there are any (one transaction), else the single rows
        (the writer process reads its input between steps); the number of rows written."""
        if self._blocks:
            with self._lock:
                return self._flush_blocks(1)
        return self.flush()

    def _flush_blocks(self, most: int | None = None) -> int:
        """Write the queued blocks, :data:`BLOCK_TRANSACTION_ROWS` rows' worth (at least one
        block) a transaction, at most ``most`` transactions; one log leaf a block. A commit
        with a WAL checkpoint cost as much as the inserts: several blocks share one."""
        n = 0
        while self._blocks and (most is None or most > 0):
            most = None if most is None else most - 1
            take, rows = 0, 0
            while take < len(self._blocks) and (not take or rows < BLOCK_TRANSACTION_ROWS):
                rows += self._blocks[take].n
                take += 1
            with self._engine.connect() as conn, block_cache(conn), conn.begin():
                lock_log(conn)
                for k in range(take):
                    self._write_block(conn, self._blocks[k])
            for _ in range(take):  # only once committed: failed blocks are retried whole
                self._blocks.popleft()
            self.written += rows
            n += rows
        return n

    def _write_block(self, conn: Connection, block: LogBlock) -> None:
        stmt = self._inserts[0][1]
        at = block.columns["at"]
        cols = {**block.columns, "at": from_epoch(at) if type(at) is float else at}
        values = {**cols, "at": _block_at(stmt, block)}
        table = screening_log.name
        if conn.dialect.name != "postgresql":  # one statement, the rows as JSON
            insert_json(conn, table, SCREENING_COLUMNS, values, block.n)
        elif not copy_columns(conn, table, SCREENING_COLUMNS, values, block.n):
            rows = block.rows(values["at"])  # COPY's text needs escaping: psycopg's
            copy_rows(conn, table, SCREENING_COLUMNS, rows)
        log_block(conn, block.n, cols)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()
