"""The screening log, written by a process of its own.

A server process answers screenings on one event loop; the log writer's SQL (binding ten
values a row, three index entries, a commit) used to run on a thread of that same process and
took the GIL from the loop for as long. :class:`ProcessLogWriter` keeps the writer's
interface (``screening``, ``refusal``, ``flush``, ``close``, ``written``) but only queues rows
and, every ``interval`` seconds, hands them to a child process (``python -m
socialcredit.screening.logchild``) as one pickled message on its stdin. The child
writes them with :class:`~socialcredit.screening.runtime.LogWriter`, in one
transaction per message, and reports each commit on its stdout.

What can be lost, and when:

- a clean shutdown loses nothing: ``close`` sends what is queued, waits for the child to
  commit it, then closes the pipe;
- the server killed: the child reads what was already sent up to the end of the pipe, commits
  it and exits; the rows still queued in the server (at most ``interval`` seconds' worth) are
  lost, as they were with the writer thread;
- the child killed: the rows it had read but not committed are lost (one message, at most
  ``interval`` seconds' worth, for single screenings; for batch manifests, whose answers
  outrun the log's inserts, the child's whole backlog: see
  :mod:`~socialcredit.screening.logchild`); the server starts a new child and carries on,
  and logs it.

The child ignores SIGINT (Ctrl-C reaches the whole process group): it stops when its stdin
closes, so the server decides when the log is complete.
"""

from __future__ import annotations

import logging
import pickle
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable
from typing import IO, Any

from sqlalchemy import Engine

from socialcredit.errors import RegistryError
from socialcredit.screening.runtime import LogBlock

log = logging.getLogger(__name__)

Row = tuple[Any, ...]
LEN = struct.Struct("!I")


class LogWriterFailed(RegistryError):
    status = 503
    code = "screening_log_unavailable"


def _frame(msg: tuple[Any, ...]) -> bytes:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    return LEN.pack(len(data)) + data


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
            [sys.executable, "-m", "socialcredit.screening.logchild"],
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
