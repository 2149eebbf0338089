"""The screening log's writer process (``python -m socialcredit.screening.logchild``).

It reads length-prefixed pickled messages from its stdin (``open``, ``rows``, ``block``,
``sync``) and commits them with :class:`~socialcredit.screening.runtime.LogWriter`, a step
(the queued blocks, or the single rows) at a time. A batch manifest is answered faster
than its log rows are inserted (a 300k-row block: SQLite ~110,000 a second here with 900k
rows already logged, PostgreSQL by COPY ~120,000; the answers run at 400,000s), so the
input is copied to a temporary file as it comes (:class:`Frames`) and read back in order,
:data:`MEMORY_ROWS` rows at most in memory: the server never waits on a full pipe (its
queue would grow with the manifest instead), and neither process's memory grows with the
backlog; the file does.

A ``sync`` is answered (``s token``, or ``e token reason``) once everything received before
it is committed. At the end of the input the child commits what is left, the file too,
retrying a while, and exits. Killed, it loses what it had received and not committed, the
file with it (a batch manifest's backlog), as the server's queue is lost when the server is
killed.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
import tempfile
import threading
import time
from typing import IO, Any

from sqlalchemy import Engine

from socialcredit.screening.logproc import LEN
from socialcredit.screening.runtime import LogBlock, LogWriter

log = logging.getLogger(__name__)

MEMORY_ROWS = 250_000  # log rows taken in at most (a block may go past it)


class Frames:
    """Length-prefixed pickles from a file descriptor, by way of a file on disk: a thread
    copies the input to the file as fast as it comes, and :meth:`next` reads messages back
    from it in order."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._file = tempfile.TemporaryFile(prefix="screening-log-")
        self._cond = threading.Condition()
        self._read = 0  # the next message's offset in the file
        self._written = 0
        self._ended = False  # the input is at its end (all of it is in the file)
        threading.Thread(target=self._pump, name="screening-log-input", daemon=True).start()

    def _pump(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 1 << 20)
            except OSError:
                chunk = b""
            with self._cond:
                if chunk:
                    self._file.seek(self._written)
                    self._file.write(chunk)
                    self._written += len(chunk)
                else:
                    self._ended = True
                self._cond.notify_all()
            if not chunk:
                return

    def _complete(self) -> int:
        """The size of the next message with its prefix if all of it is in, else 0."""
        have = self._written - self._read
        if have < 4:
            return 0
        self._file.seek(self._read)
        (n,) = LEN.unpack(self._file.read(4))
        return 4 + n if have >= 4 + n else 0

    @property
    def eof(self) -> bool:
        with self._cond:  # (a message cut short at the end is never complete)
            return self._ended and not self._complete()

    def waiting(self, timeout: float | None) -> bool:
        with self._cond:
            self._cond.wait_for(lambda: self._complete() or self._ended, timeout)
            return bool(self._complete())

    def next(self) -> tuple[Any, ...] | None:
        """The next message, blocking; ``None`` at the end of the input."""
        with self._cond:
            self._cond.wait_for(lambda: self._complete() or self._ended)
            size = self._complete()
            if not size:
                return None
            self._file.seek(self._read + 4)
            data = self._file.read(size - 4)
            self._read += size
            if self._read == self._written:  # all read: start the file again
                self._file.seek(0)
                self._file.truncate()
                self._read = self._written = 0
        msg: tuple[Any, ...] = pickle.loads(data)  # noqa: S301 - our parent's
        return msg

    def close(self) -> None:
        self._file.close()


# The store's connections keep a 256 MiB SQLite page cache (bulk index builds stay in
# memory). The log writer only appends at the right edge of the log's table and indexes, but
# every new page stayed cached: the child grew ~4 MB every 30 s under steady load until the
# cache was full. Its connection gets a small cache instead.
WRITER_CACHE_KIB = 8 * 1024


def writer_engine(url: str) -> Engine:
    """The engine the writer process writes with: bounded memory."""
    from sqlalchemy import event

    from socialcredit.store import make_engine

    engine = make_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _small_cache(dbapi_conn: Any, _: Any) -> None:  # after make_engine's pragmas
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
            cur.close()

    return engine


class Child:
    """The loop: take in messages (a bounded number of rows), write a step, answer the
    syncs once all taken in is written."""

    def __init__(self, frames: Frames, sink: LogWriter, out: IO[bytes] | None = None) -> None:
        self.frames = frames
        self.sink = sink
        self.most = 0  # the most rows taken in at once
        self.syncs: list[int] = []
        self.out = sys.stdout.buffer if out is None else out

    def reply(self, line: str) -> None:
        self.out.write(line.encode() + b"\n")
        self.out.flush()

    def take(self, msg: tuple[Any, ...]) -> None:
        sink = self.sink
        if msg[0] == "rows":
            for row in msg[1]:
                sink.screening(row)
            for row in msg[2]:
                sink.refusal(row)
        elif msg[0] == "block":
            sink.screening_block(LogBlock(msg[1], msg[2]))
        elif msg[0] == "sync":
            self.syncs.append(msg[1])

    def step(self) -> str:
        """Write one step; the failure's reason, or ''."""
        try:
            n = self.sink.flush_step()
        except Exception as e:  # the rows stay in the sink; the next round retries
            log.exception("could not write the screening log; will retry")
            return f"{type(e).__name__}: {e}".replace("\n", " ")[:500]
        if n:
            self.reply(f"w {n}")
        return ""

    def run(self) -> int:
        try:
            return self._run()
        finally:
            self.frames.close()

    def _run(self) -> int:
        frames, sink = self.frames, self.sink
        failing = ""
        while True:
            while sink.pending() < MEMORY_ROWS and frames.waiting(0.0):
                msg = frames.next()  # in order: the rest waits in the file
                if msg is not None:
                    self.take(msg)
            self.most = max(self.most, sink.pending())
            if sink.pending():
                if failing and not frames.eof:
                    time.sleep(1.0)  # before retrying a write that failed
                failing = self.step()
                if failing:
                    for token in self.syncs:
                        self.reply(f"e {token} {failing}")
                    self.syncs.clear()
                    if frames.eof:
                        return self.finish()
                continue
            for token in self.syncs:
                self.reply(f"s {token}")
            self.syncs.clear()
            if frames.eof:
                return 0
            frames.waiting(None)

    def finish(self) -> int:
        """The end of the input with a write failing: retry a while, then give up."""
        for _ in range(30):
            time.sleep(1.0)
            while self.sink.pending():
                if self.step():
                    break
            else:
                return 0
        log.error("giving up: %d screening log rows not written", self.sink.pending())
        return 1


def child_main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s screening-log %(message)s")
    frames = Frames(sys.stdin.fileno())
    first = frames.next()
    if first is None or first[0] != "open":
        return 2
    engine = writer_engine(first[1])
    code = Child(frames, LogWriter(engine)).run()
    engine.dispose()
    return code


if __name__ == "__main__":
    sys.exit(child_main())
