"""Staged bulk writes on SQLite: forked workers bind rows into throwaway files, one process
copies them in.

Turning Arrow columns into Python objects and binding them through pysqlite costs several
microseconds a row under the GIL, in one process, while ``INSERT ... SELECT`` from an
attached SQLite file costs well under one. So a large batch is split by line range (records)
and by identifier range (subjects) across forked workers (copy-on-write: the validated batch
is not copied), each of which writes its share into a staging file of its own, with no
journal and no fsync: it is scratch, rebuilt from the batch if anything goes wrong. The
real transaction then attaches the files and copies their rows in order, so the rows, their
order and the durability of the commit are those of the serial path.

Scratch lives beside the database (``<db>.stage/``), not in the system temporary directory
(often a small tmpfs), in a directory named after the staging process; a ``kill -9`` leaves it
behind, so every staging first removes the directories of processes that are gone
(:func:`clean_stale`).

A worker reports ``R`` (records staged), ``S`` (subjects staged), ``D`` (done: the work's
:meth:`~AfterStaging.after_staging`, if it has one, has run) or ``E`` and a traceback on a
pipe; an error or a worker that dies becomes a :class:`StagingError` in the parent, which
rolls the batch back like any other failure. Workers end with ``os._exit`` and never touch
the parent's connection.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Connection, Engine, event

from socialcredit.store.ports import EventColumns, RecordColumns, SubjectColumns

PREFIX = "socialcredit-stage-"
STAGE_MIN_ROWS = 50_000  # below this, forking costs more than it saves
AFTER_NICE = 3  # niceness a worker adds for AfterStaging work: the parent comes first
ATTACHED = "socialcredit_staged"  # Connection.info key: staging aliases to detach at checkin


class StagingError(RuntimeError):
    """A staging worker failed; the batch is rolled back."""


@runtime_checkable
class StagedWork(Protocol):
    """A batch's new rows, buildable in parts: part ``k`` of ``n`` of each, in order."""

    def records(self, k: int, n: int) -> Iterator[RecordColumns]: ...

    def subjects(self, k: int, n: int) -> SubjectColumns: ...


@runtime_checkable
class AfterStaging(Protocol):
    """A :class:`StagedWork` with more to do in each worker once its rows are staged (the
    transparency log's leaf hashes): it runs while the parent copies the rows in and
    rebuilds indexes, and :meth:`Staging.finish` waits for it."""

    def after_staging(self, k: int, n: int) -> None: ...


@runtime_checkable
class StagedIngest(Protocol):
    """An ingest repository that can take a batch as :class:`StagedWork`."""

    def write_staged(
        self,
        batch_id: int,
        created_at: dt.datetime,
        work: StagedWork,
        events: Iterable[EventColumns],
        *,
        rows: int,
    ) -> bool: ...


def workers() -> int:
    """Staging workers to fork: one per core (at most 4), none on one core or without fork."""
    if not hasattr(os, "fork"):
        return 0
    n = os.cpu_count() or 1
    return min(n, 4) if n > 1 else 0


Insert = Callable[[Any, str, Sequence[str], Sequence[list[Any]]], None]


def _stage_file(
    path: Path, table: str, names: Sequence[str], parts: Iterable[Any], insert: Insert
) -> None:
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-131072"):
            raw.execute(f"PRAGMA {pragma}")
        # No declared types: values keep the storage class they were bound with, and the
        # real table's affinities apply when they are copied in, as when bound directly.
        raw.execute(f"CREATE TABLE {table} ({', '.join(names)})")
        raw.execute("BEGIN")
        for cols in parts:
            if len(cols):
                insert(raw, table, cols.COLUMNS, [getattr(cols, c) for c in cols.COLUMNS])
        raw.execute("COMMIT")
    finally:
        raw.close()


def _stage(
    paths: tuple[Path, Path], work: StagedWork, k: int, n: int, out: int, insert: Insert
) -> None:
    """In the worker: records part ``k``, then subjects part ``k``, each into a file of its
    own (the parent reads the first while this writes the second)."""
    _stage_file(paths[0], "records", RecordColumns.COLUMNS, work.records(k, n), insert)
    os.write(out, b"R")
    _stage_file(paths[1], "subjects", SubjectColumns.COLUMNS, [work.subjects(k, n)], insert)
    os.write(out, b"S")
    if isinstance(work, AfterStaging):
        # The parent is rebuilding indexes now, the batch's longest step; yield to it
        # (on two cores the workers take turns on the one it leaves idle).
        os.nice(AFTER_NICE)
        work.after_staging(k, n)
    os.write(out, b"D")


def _detach(dbapi_conn: Any, record: Any) -> None:
    # An attached file stays locked until the batch's transaction ends; the pool hands the
    # connection back after commit or rollback, which is the first moment DETACH may run.
    for alias in record.info.pop(ATTACHED, ()):
        if dbapi_conn is not None:
            dbapi_conn.execute(f"DETACH DATABASE {alias}")


def scratch_root(database: str | None) -> Path:
    """Where staging files go: ``<db>.stage/`` beside a SQLite file, else the temp dir."""
    if database and database != ":memory:":
        db = Path(database)
        return db.with_name(db.name + ".stage")
    return Path(tempfile.gettempdir())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(root: Path) -> list[Path]:
    """Remove staging directories under ``root`` whose process is gone (a ``kill -9``)."""
    import shutil

    gone = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    for d in entries:
        if not d.name.startswith(PREFIX) or not d.is_dir():
            continue
        pid_s = d.name.removeprefix(PREFIX).split("-", 1)[0]
        if pid_s.isdigit() and _alive(int(pid_s)):
            continue
        shutil.rmtree(d, ignore_errors=True)
        gone.append(d)
    return gone


def _listen(engine: Engine) -> None:
    if not event.contains(engine, "checkin", _detach):
        event.listen(engine, "checkin", _detach)


class Staging:
    """Forked workers staging a batch; :meth:`copy_records` then :meth:`copy_subjects` copy
    each part in as soon as it is staged; :meth:`close` reaps the workers, files and all."""

    def __init__(self, work: StagedWork, n: int, insert: Insert, root: Path | None = None) -> None:
        root = root if root is not None else Path(tempfile.gettempdir())
        root.mkdir(parents=True, exist_ok=True)
        clean_stale(root)
        self._dir = tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-", dir=root)
        d = Path(self._dir.name)
        self.paths = [(d / f"records{k}.db", d / f"subjects{k}.db") for k in range(n)]
        self._pids: list[int] = []
        self._pipes: list[int] = []
        for k in range(n):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker
                code = 0
                try:
                    os.close(r)
                    _stage(self.paths[k], work, k, n, w, insert)
                except BaseException:
                    os.write(w, b"E" + traceback.format_exc().encode()[-4000:])
                    code = 1
                finally:
                    os._exit(code)
            os.close(w)
            self._pids.append(pid)
            self._pipes.append(r)

    def wait(self, k: int, what: bytes) -> None:
        """Block until worker ``k`` reports ``what`` (R, S or D); raise what it reports
        instead."""
        got = os.read(self._pipes[k], 1)
        if got == what:
            return
        rest = b""
        while chunk := os.read(self._pipes[k], 65536):
            rest += chunk
        detail = rest.decode(errors="replace") or "it exited without a word"
        raise StagingError(f"staging worker {k} failed:\n{detail}")

    def _attach(self, conn: Connection, path: Path) -> str:
        attached: list[str] = conn.info.setdefault(ATTACHED, [])
        alias = f"staged_{len(attached)}"
        _listen(conn.engine)
        conn.exec_driver_sql(f"ATTACH DATABASE ? AS {alias}", (str(path),))
        attached.append(alias)
        return alias

    def copy_records(self, conn: Connection, batch_id: int) -> None:
        """Append every part's records, part by part as each is staged (ids ascending)."""
        self._copy(conn, 0, b"R", "INSERT", "records", RecordColumns.COLUMNS, "batch_id", batch_id)

    def copy_subjects(self, conn: Connection, created: str) -> None:
        """Insert the subjects not stored yet, part by part (identifier order)."""
        cols = SubjectColumns.COLUMNS
        self._copy(conn, 1, b"S", "INSERT OR IGNORE", "subjects", cols, "created_at", created)

    def _copy(
        self,
        conn: Connection,
        file: int,
        signal: bytes,
        verb: str,
        table: str,
        columns: Sequence[str],
        extra: str,
        value: object,
    ) -> None:
        names = ", ".join(columns)
        for k in range(len(self.paths)):
            self.wait(k, signal)
            alias = self._attach(conn, self.paths[k][file])
            conn.exec_driver_sql(
                f"{verb} INTO {table} ({names}, {extra}) "
                f"SELECT {names}, ? FROM {alias}.{table} ORDER BY rowid",
                (value,),
            )

    def finish(self) -> None:
        """Wait for every worker to be done (after the subjects are copied)."""
        for k in range(len(self.paths)):
            self.wait(k, b"D")

    def close(self) -> None:
        for fd in self._pipes:
            os.close(fd)
        for pid in self._pids:
            try:
                os.kill(pid, 9)  # only if still running: a failed batch does not wait for it
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        self._dir.cleanup()  # unlinked; the attached handles keep the files until detach
