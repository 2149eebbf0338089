"""The screening log, written by a process of its own.

A server process answers screenings on one event loop; the log writer's SQL (binding ten
values a row, three index entries, a commit) used to run on a thread of that same process and
took the GIL from the loop for as long. :class:`ProcessLogWriter` keeps the writer's
interface (``screening``, ``refusal``, ``flush``, ``close``, ``written``) but only queues rows
and, every ``interval`` seconds, hands them to a child process (``python -m
socialcredit.screening.logproc``) as one pickled message on its stdin. The child
writes them with :class:`~socialcredit.screening.runtime.LogWriter`, in one
transaction per message, and reports each commit on its stdout.

What can be lost, and when:

- a clean shutdown loses nothing: ``close`` sends what is queued, waits for the child to
  commit it, then closes the pipe;
- the server killed: the child reads what was already sent up to the end of the pipe, commits
  it and exits; the rows still queued in the server (at most ``interval`` seconds' worth) are
  lost, as they were with the writer thread;
- the child killed: the rows it had read but not committed are lost (one message, at most
  ``interval`` seconds' worth); the server starts a new child and carries on, and logs it.

The child ignores SIGINT (Ctrl-C reaches the whole process group): it stops when its stdin
closes, so the server decides when the log is complete.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import IO, Any

from sqlalchemy import Engine

from socialcredit.errors import RegistryError
from socialcredit.screening.runtime import LogBlock

log = logging.getLogger(__name__)

Row = tuple[Any, ...]
_LEN = struct.Struct("!I")


class LogWriterFailed(RegistryError):
    status = 503
    code = "screening_log_unavailable"


def _frame(msg: tuple[Any, ...]) -> bytes:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    return _LEN.pack(len(data)) + data


class ProcessLogWriter:
    """Queues log rows and ships them to a writer process (see the module's docstring)."""

    def __init__(self, engine: Engine, interval: float = 0.2, sync_timeout: float = 60.0) -> None:
        self._url = engine.url.render_as_string(hide_password=False)
        self._interval = interval
        self._sync_timeout = sync_timeout
        self._screenings: deque[Row] = deque()
        self._refusals: deque[Row] = deque()
        self._blocks: deque[LogBlock] = deque()
        self._send_lock = threading.Lock()  # one sender at a time: frames must not interleave
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._token = 0
        self._replies: dict[int, tuple[threading.Event, list[str]]] = {}
        self.written = 0
        self.restarts = 0

    # --- the hot path: no I/O, no lock -----------------------------------------------------

    def screening(self, row: Row) -> None:
        self._screenings.append(row)

    def screenings(self, rows: Iterable[Row]) -> None:
        self._screenings.extend(rows)

    def screening_block(self, block: LogBlock) -> None:
        self._blocks.append(block)

    def refusal(self, row: Row) -> None:
        self._refusals.append(row)

    def pending(self) -> int:
        """Rows queued here and not yet sent to the writer process."""
        return len(self._screenings) + len(self._refusals) + sum(b.n for b in self._blocks)

    # --- the child -------------------------------------------------------------------------

    def _spawn(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "socialcredit.screening.logproc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(_frame(("open", self._url)))  # on the pipe, not argv: it may hold a
        proc.stdin.flush()  # password that `ps` would show
        self._reader = threading.Thread(
            target=self._read_replies,
            args=(proc, proc.stdout),
            name="screening-log-acks",
            daemon=True,
        )
        self._reader.start()
        return proc

    def _child(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if self._proc is not None:
            self.restarts += 1
            log.error(
                "screening log writer process exited (code %s); starting another; the rows it "
                "had not committed are lost",
                self._proc.returncode,
            )
            self._fail_waiters("the screening log writer process exited")
            if self._proc.stdin is not None:
                try:
                    self._proc.stdin.close()
                except OSError:  # the pipe is broken: what was in it is lost, as logged
                    pass
        self._proc = self._spawn()
        return self._proc

    def _read_replies(self, proc: subprocess.Popen[bytes], out: IO[bytes]) -> None:
        for line in out:
            kind, _, rest = line.decode("utf-8", "replace").rstrip("\n").partition(" ")
            if kind == "w":
                self.written += int(rest)
            elif kind in ("s", "e"):
                token, _, text = rest.partition(" ")
                got = self._replies.get(int(token))
                if got is not None:
                    got[1].append(text if kind == "e" else "")
                    got[0].set()
        out.close()
        if self._proc is proc:  # it died and no other has taken over yet
            self._fail_waiters("the screening log writer process exited")

    def _fail_waiters(self, why: str) -> None:
        for event, box in list(self._replies.values()):
            if not event.is_set():
                box.append(why)
                event.set()

    def _send(self, *msgs: tuple[Any, ...]) -> None:
        data = b"".join(_frame(m) for m in msgs)
        for attempt in (1, 2):
            proc = self._child()
            assert proc.stdin is not None
            try:
                proc.stdin.write(data)  # releases the GIL while the pipe takes the bytes
                proc.stdin.flush()
                return
            except (BrokenPipeError, OSError):
                proc.wait(timeout=10)
                if attempt == 2:
                    raise

    def _drain(self) -> tuple[list[Row], list[Row], list[LogBlock]]:
        s, r, b = self._screenings, self._refusals, self._blocks
        return (
            [s.popleft() for _ in range(len(s))],
            [r.popleft() for _ in range(len(r))],
            [b.popleft() for _ in range(len(b))],
        )

    @staticmethod
    def _messages(s: list[Row], r: list[Row], b: list[LogBlock]) -> list[tuple[Any, ...]]:
        """The ``rows`` message, and a ``block`` message for each block (Arrow buffers)."""
        msgs: list[tuple[Any, ...]] = [("rows", s, r)] if s or r else []
        return msgs + [("block", x.n, x.columns) for x in b]

    def ship(self) -> int:
        """Send what is queued (without waiting for the commit); the rows sent."""
        with self._send_lock:
            s, r, b = self._drain()
            msgs = self._messages(s, r, b)
            if msgs:
                self._send(*msgs)
            return len(s) + len(r) + sum(x.n for x in b)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        with self._send_lock:
            self._child()
        self._thread = threading.Thread(target=self._run, name="screening-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.ship()
            except Exception:
                log.exception("screening log: could not reach the writer process, will retry")

    def flush(self) -> int:
        """Send what is queued and wait until the writer process has committed it; returns
        the number of rows this call sent. Raises :class:`LogWriterFailed` when the commit
        fails (the child keeps the rows and retries) or the child exits first."""
        event, box = threading.Event(), list[str]()
        with self._send_lock:
            self._child()  # a dead child is replaced before this call starts waiting
            s, r, b = self._drain()
            self._token += 1
            token = self._token
            self._replies[token] = (event, box)
            msgs = self._messages(s, r, b)
            try:
                self._send(*msgs, ("sync", token))
            except Exception:
                self._replies.pop(token, None)
                raise
        try:
            if not event.wait(self._sync_timeout):
                raise LogWriterFailed("the screening log writer did not confirm in time")
        finally:
            self._replies.pop(token, None)
        if box and box[0]:
            raise LogWriterFailed(f"the screening log could not be written: {box[0]}")
        return len(s) + len(r) + sum(x.n for x in b)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:
            self.flush()
        finally:
            proc = self._proc
            if proc is not None and proc.stdin is not None:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    log.error("screening log writer did not stop; killing it")
                    proc.kill()
                    proc.wait()
            if self._reader is not None:
                self._reader.join(timeout=10)


# --- the child process -------------------------------------------------------------------------


class _Frames:
    """Length-prefixed pickles from a file descriptor, read without Python's buffering so that
    ``select`` tells the truth about what is waiting."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()
        self.eof = False

    def _complete(self) -> bool:
        return len(self.buf) >= 4 and len(self.buf) >= 4 + _LEN.unpack_from(self.buf)[0]

    def waiting(self, timeout: float | None) -> bool:
        if self._complete():
            return True
        if self.eof:
            return False
        return bool(select.select([self.fd], [], [], timeout)[0])

    def next(self) -> tuple[Any, ...] | None:
        """The next message, blocking; ``None`` at the end of the input."""
        while not self._complete():
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                self.eof = True
                return None
            self.buf += chunk
        (n,) = _LEN.unpack_from(self.buf)
        msg: tuple[Any, ...] = pickle.loads(bytes(self.buf[4 : 4 + n]))  # noqa: S301 - our parent
        del self.buf[: 4 + n]
        return msg


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


def child_main() -> int:
    from socialcredit.screening.runtime import LogWriter

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s screening-log %(message)s")
    frames = _Frames(sys.stdin.fileno())
    out = sys.stdout.buffer
    first = frames.next()
    if first is None or first[0] != "open":
        return 2
    engine = writer_engine(first[1])
    sink = LogWriter(engine)

    def reply(line: str) -> None:
        out.write(line.encode() + b"\n")
        out.flush()

    def write() -> str:
        try:
            n = sink.flush()
        except Exception as e:  # the rows stay in the sink; the next round retries
            log.exception("could not write the screening log; will retry")
            return f"{type(e).__name__}: {e}".replace("\n", " ")[:500]
        if n:
            reply(f"w {n}")
        return ""

    failing = False
    while True:
        if not frames.waiting(0.0):
            # Nothing more waiting: write what came (one commit per burst of messages), or
            # retry a failed write after a second when nothing comes.
            if sink.pending():
                failing = bool(write())
            if frames.eof:
                break
            if not frames.waiting(1.0 if failing else None):
                continue
        msg = frames.next()
        if msg is None:
            continue  # the end of the input: the loop writes what is left and stops
        if msg[0] == "rows":
            for row in msg[1]:
                sink.screening(row)
            for row in msg[2]:
                sink.refusal(row)
        elif msg[0] == "block":
            sink.screening_block(LogBlock(msg[1], msg[2]))
        elif msg[0] == "sync":
            err = write()
            failing = bool(err)
            reply(f"e {msg[1]} {err}" if err else f"s {msg[1]}")
    for _ in range(30):  # the end of the input: commit what is left, retrying a while
        if not sink.pending() or not write():
            break
        time.sleep(1.0)
    else:
        log.error("giving up: %d screening log rows not written", sink.pending())
        return 1
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
