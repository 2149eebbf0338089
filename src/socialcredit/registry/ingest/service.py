"""Ingest record files from authorities (``docs/ingest-format.md``): the use cases.

One batch is one transaction: every good line goes in, every bad line comes back as a
:class:`~socialcredit.errors.Problem` (line, field, reason, value), and with
``all_or_nothing=True`` one bad line rejects the batch (:class:`BatchRejected`, nothing
written). A batch is identified by the SHA-256 of its content, so re-sending a file is a
no-op, and a crash leaves a batch wholly in or wholly out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import Connection, select

from socialcredit.domain.rules import RulePack
from socialcredit.errors import BatchRejected, InvalidInput, Problem
from socialcredit.registry.ingest import columns, leafcols
from socialcredit.registry.ingest import problems as kept
from socialcredit.registry.ingest.fields import FIELDS, Parsed, Progress
from socialcredit.registry.ingest.logged import (
    BatchLeaves,
    LoggedWork,
    logged_chunks,
    logged_events,
)
from socialcredit.registry.ingest.plan import plan
from socialcredit.registry.ingest.read import (
    as_strings,
    detect_format,
    read_records,
    unknown_columns,
)
from socialcredit.registry.ingest.validate import validate
from socialcredit.store import tables
from socialcredit.store.ports import UnitOfWork
from socialcredit.store.sql_stage import StagedIngest

WRITE_CHUNK = 250_000  # lines per chunk handed to the store (bounds the Python objects alive)
READ_CHUNK = 4 << 20  # bytes read at a time, so a progress bar moves while a file is read

ReadProgress = Callable[[int, int], None]  # (bytes read, lines seen so far)
Stage = Callable[[str], None]  # what the batch is doing now: validating, writing, committing


@dataclass(frozen=True)
class IngestReport:
    """What happened to a batch. ``rejected`` lists every problem, by line; ``warnings``
    what was accepted but is worth a look (a 15-digit ID converted to 18 digits, with the
    original as the value; an address code GB/T 2260 never held), by line."""

    batch_id: int | None
    source: str
    sha256: str
    lines: int
    accepted: int
    duplicates: int
    rejected: tuple[Problem, ...]
    already_ingested: bool = False
    warnings: tuple[Problem, ...] = ()

    @property
    def rejected_lines(self) -> int:
        return len({p.line for p in self.rejected})


def _log_connection(uow: UnitOfWork) -> Connection | None:
    """The batch's connection, when its store is SQL (the in-memory fake has no log)."""
    conn = getattr(uow, "connection", None)
    return conn if isinstance(conn, Connection) else None


def _batch_row(conn: Connection, batch_id: int) -> dict[str, Any]:
    row = conn.execute(select(tables.batches).where(tables.batches.c.id == batch_id)).one()
    return dict(row._mapping)


def _ingest(
    uow: UnitOfWork,
    parsed: Parsed,
    *,
    sha256: str,
    source: str,
    pack: RulePack,
    today: dt.date,
    all_or_nothing: bool,
    progress: Progress | None,
    stage: Stage | None = None,
    log: bool = True,
    strict_names: bool = False,
) -> IngestReport:
    def say(what: str) -> None:
        if stage is not None:
            stage(what)

    with uow:
        uow.ingest.lock()
        done = uow.ingest.find_batch(sha256)
        if done is not None:
            return IngestReport(
                done.id,
                source,
                sha256,
                done.lines,
                done.accepted,
                done.duplicates,
                (),
                already_ingested=True,
            )
        authorities = {a.code: a.categories for a in uow.authorities.list()}
        say("validating")
        v = validate(parsed, pack, authorities, today)
        p = plan(uow, v, strict_names=strict_names)
        problems = _by_line([*parsed.problems, *v.chk.problems])
        if problems and all_or_nothing:
            raise BatchRejected(
                f"{source}: {len({p.line for p in problems})} bad line(s); nothing was written",
                problems,
            )
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        accepted = p.accepted
        bad_lines = len({p.line for p in problems})
        batch_id = uow.ingest.add_batch(
            source_name=source,
            sha256=sha256,
            received_at=now,
            lines=parsed.total_lines,
            accepted=accepted,
            duplicates=p.duplicates,
            rejected=bad_lines,
        )
        rows = len(p.new_rows)
        say("writing")
        ingest = uow.ingest
        conn = _log_connection(uow) if log else None
        leaves = BatchLeaves(batch_id)
        with tempfile.TemporaryDirectory(prefix="socialcredit-leaves-") as scratch:
            staged = False
            if isinstance(ingest, StagedIngest):
                work = columns.Work(v, p, WRITE_CHUNK)
                lw = (
                    LoggedWork(work, batch_id, Path(scratch), leaves.first_record_leaf(conn))
                    if conn is not None
                    else work
                )
                events = work.events()
                if conn is not None:
                    events = logged_events(events, leaves)
                staged = ingest.write_staged(batch_id, now, lw, events, rows=rows)
                if staged and isinstance(lw, LoggedWork):
                    lw.collect(leaves, p.new_ids)
            if staged:
                if progress is not None:
                    progress(parsed.table.num_rows)
            else:
                leaves = BatchLeaves(batch_id)  # nothing was written: start again
                chunks = columns.chunks(v, p, WRITE_CHUNK, progress)
                ingest.write(
                    batch_id,
                    now,
                    logged_chunks(chunks, leaves) if conn is not None else chunks,
                    rows=rows,
                    subjects=columns.subjects(v, p),
                )
                if conn is not None:
                    n = parsed.table.num_rows
                    leaves.add_records(p.new_ids, leafcols.record_hashes(v, p, 0, n, batch_id))
        if conn is not None:
            leaves.append(conn, _batch_row(conn, batch_id))
        warnings = _by_line(v.chk.warnings)
        sql = _log_connection(uow)
        if sql is not None:  # the clerk reads them later, on any worker (``problems.py``)
            kept.keep(sql, batch_id, problems, warnings)
        say("committing")
        uow.commit()
    return IngestReport(
        batch_id,
        source,
        sha256,
        parsed.total_lines,
        accepted,
        p.duplicates,
        problems,
        warnings=warnings,
    )


def _by_line(problems: list[Problem]) -> tuple[Problem, ...]:
    return tuple(
        sorted(
            problems,
            key=lambda p: (p.line or 0, FIELDS.index(p.field) if p.field in FIELDS else -1),
        )
    )


def ingest_bytes(
    uow: UnitOfWork,
    data: bytes,
    fmt: str,
    *,
    source: str,
    pack: RulePack,
    today: dt.date,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
    stage: Stage | None = None,
    log: bool = True,
    strict_names: bool = False,
) -> IngestReport:
    """Ingest a file's content in ``fmt`` (jsonl, csv or parquet) as one batch.

    ``log=False`` leaves the transparency log out: only for ``bench/ingest.py`` to measure
    what the log costs."""
    sha = hashlib.sha256(data).hexdigest()
    if stage is not None:
        stage("parsing")
    parsed = read_records(data, detect_format(Path(source), fmt))
    return _ingest(
        uow,
        parsed,
        sha256=sha,
        source=source,
        pack=pack,
        today=today,
        all_or_nothing=all_or_nothing,
        progress=progress,
        stage=stage,
        log=log,
        strict_names=strict_names,
    )


def _read(path: Path, read_progress: ReadProgress | None) -> bytes:
    """The file's bytes, read in chunks so that ``read_progress`` hears of each."""
    if read_progress is None:
        return path.read_bytes()
    parts: list[bytes] = []
    done = lines = 0
    with path.open("rb") as f:
        while chunk := f.read(READ_CHUNK):
            parts.append(chunk)
            done += len(chunk)
            lines += chunk.count(b"\n")
            read_progress(done, lines)
    return b"".join(parts)


def ingest_file(
    uow: UnitOfWork,
    path: Path,
    *,
    pack: RulePack,
    today: dt.date,
    fmt: str | None = None,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
    source: str | None = None,
    read_progress: ReadProgress | None = None,
    stage: Stage | None = None,
    log: bool = True,
    strict_names: bool = False,
) -> IngestReport:
    """Ingest one record file as one batch (format from the extension unless ``fmt``).

    Returns what was accepted, what were duplicates, and every problem by line. Raises
    :class:`BatchRejected` when ``all_or_nothing`` and any line is bad, or when the file as a
    whole cannot be read (unknown columns, not Parquet, no CSV header). ``read_progress``
    hears (bytes read, newlines seen) as the file is read, ``stage`` each step after it, and
    ``progress`` the lines written.
    """
    kind = detect_format(path, fmt)
    try:
        data = _read(path, read_progress)
    except OSError as e:
        raise InvalidInput.one("file", f"cannot read: {e.strerror}", str(path)) from None
    return ingest_bytes(
        uow,
        data,
        kind,
        source=source or path.name,
        pack=pack,
        today=today,
        all_or_nothing=all_or_nothing,
        progress=progress,
        stage=stage,
        log=log,
        strict_names=strict_names,
    )


def ingest_table(
    uow: UnitOfWork,
    table: pa.Table,
    *,
    source: str,
    pack: RulePack,
    today: dt.date,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
    strict_names: bool = False,
) -> IngestReport:
    """Ingest an in-memory Arrow table with the file format's columns (row i is line i+1)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    sha = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
    n = table.num_rows
    lines = np.arange(1, n + 1, dtype=np.int64)
    unknown_columns(table, lines, None)
    parsed = Parsed(as_strings(table), lines, [], n)
    return _ingest(
        uow,
        parsed,
        sha256=sha,
        source=source,
        pack=pack,
        today=today,
        all_or_nothing=all_or_nothing,
        progress=progress,
        strict_names=strict_names,
    )
