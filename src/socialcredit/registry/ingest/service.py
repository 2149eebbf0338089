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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from socialcredit.domain.rules import RulePack
from socialcredit.errors import BatchRejected, InvalidInput, Problem
from socialcredit.registry.ingest import columns
from socialcredit.registry.ingest.fields import FIELDS, Parsed, Progress
from socialcredit.registry.ingest.plan import plan
from socialcredit.registry.ingest.read import (
    as_strings,
    detect_format,
    read_records,
    unknown_columns,
)
from socialcredit.registry.ingest.validate import validate
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
        p = plan(uow, v)
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
        if isinstance(ingest, StagedIngest):
            work = columns.Work(v, p, WRITE_CHUNK)
            staged = ingest.write_staged(batch_id, now, work, work.events(), rows=rows)
        else:
            staged = False
        if staged:
            if progress is not None:
                progress(parsed.table.num_rows)
        else:
            ingest.write(
                batch_id,
                now,
                columns.chunks(v, p, WRITE_CHUNK, progress),
                rows=rows,
                subjects=columns.subjects(v, p),
            )
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
        warnings=_by_line(v.chk.warnings),
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
) -> IngestReport:
    """Ingest a file's content in ``fmt`` (jsonl, csv or parquet) as one batch."""
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
    )
