"""A batch's leaves in the transparency log: one per record, one per event, one for the batch.

The leaves go in through ``append_hashes`` in the batch's own transaction, after the rows,
so a crash or a rollback leaves neither. A leaf's payload must be byte for byte what
``log verify`` recomputes from the row read back (``integrity.leaf_payload`` over
``select(records)``): the store's columns already hold dates as ISO text and amounts as
canonical decimal text, which encode exactly as the ``date`` and ``Decimal`` read back do;
only an event's ``payload`` is JSON text here and a parsed value there.

Record payloads are built from the batch's Arrow columns (``leafcols``); hashing them is
still a C call a row. On the staged path (large SQLite batches) :class:`LoggedWork` does
both in the forked staging workers once their rows are staged, with the roots of the
256-leaf subtrees that lie wholly in their part, each writing to scratch files the parent
reads back in part order; elsewhere the batch's process does it all. Events (few, and only
as Python rows) are encoded as the chunks pass (:func:`logged_chunks`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection

from socialcredit.integrity import (
    append_hashes,
    append_leaves,
    block_roots,
    leaf_payload,
    leaf_payloads,
    tree_size,
)
from socialcredit.registry.ingest import leafcols
from socialcredit.registry.ingest.columns import Work
from socialcredit.store.ports import EventColumns, RecordColumns, SubjectColumns

RECORD = "record"
EVENT = "record_event"
BATCH = "batch"


def event_payloads(cols: EventColumns, batch_id: int) -> list[bytes]:
    data: dict[str, Sequence[Any]] = {k: getattr(cols, k) for k in EventColumns.COLUMNS}
    data["payload"] = [None if p is None else orjson.loads(p) for p in cols.payload]
    data["batch_id"] = [batch_id] * len(cols)
    return leaf_payloads(EVENT, data)


class BatchLeaves:
    """What a batch hands the log: record hashes in id order, events with their ids."""

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id
        self.record_ids: list[np.ndarray] = []
        self.record_hashes: list[bytes] = []
        self.event_ids: list[int] = []
        self.event_payloads: list[bytes] = []
        self.roots: tuple[int, dict[int, bytes]] | None = None

    @staticmethod
    def first_record_leaf(conn: Connection) -> int:
        """The index the batch's first record leaf will have (the batch's own leaf is
        appended first), so long as nothing else is appended meanwhile."""
        return tree_size(conn) + 1

    def add_records(self, ids: np.ndarray, hashes: bytes) -> None:
        """Record leaf hashes (concatenated) for records ``ids``, in id order."""
        if len(ids):
            self.record_ids.append(np.asarray(ids, dtype=np.int64))
            self.record_hashes.append(hashes)

    def add_roots(self, start: int, roots: dict[int, bytes]) -> None:
        """Subtree roots over the record leaves, worked out as if they started at leaf
        ``start`` (``integrity.block_roots``)."""
        self.roots = (start, roots)

    def add_events(self, cols: EventColumns) -> None:
        if len(cols):
            self.event_ids.extend(cols.id)
            self.event_payloads.extend(event_payloads(cols, self.batch_id))

    def append(self, conn: Connection, batch_row: dict[str, Any]) -> None:
        """Append the batch's leaves (batch row, records, events) in this transaction."""
        append_leaves(conn, BATCH, [self.batch_id], [leaf_payload(BATCH, batch_row)])
        if self.record_hashes:
            ids = np.concatenate(self.record_ids)
            refs: Sequence[int] = (
                range(int(ids[0]), int(ids[0]) + len(ids))
                if int(ids[-1]) - int(ids[0]) == len(ids) - 1
                else ids.tolist()
            )
            hashes = b"".join(self.record_hashes)
            append_hashes(conn, RECORD, refs, hashes, roots=self.roots)
        if self.event_ids:
            append_leaves(conn, EVENT, self.event_ids, self.event_payloads)


def logged_chunks(
    chunks: Iterator[tuple[RecordColumns, EventColumns]], leaves: BatchLeaves
) -> Iterator[tuple[RecordColumns, EventColumns]]:
    """``chunks`` unchanged, each chunk's event leaves noted on the way through (records are
    hashed from the batch's Arrow columns: ``leafcols``)."""
    for records, events in chunks:
        leaves.add_events(events)
        yield records, events


def logged_events(events: Iterator[EventColumns], leaves: BatchLeaves) -> Iterator[EventColumns]:
    for ev in events:
        leaves.add_events(ev)
        yield ev


class LoggedWork:
    """A :class:`~socialcredit.registry.ingest.columns.Work` whose staging workers also
    leave their share's record leaf hashes in ``scratch/hashes<k>.bin``, and the roots of
    the stored subtrees that lie wholly in their share in ``scratch/roots<k>.bin``.

    A worker hashes once it has staged its rows (:meth:`after_staging`), while the parent
    copies them in and rebuilds indexes; the payloads come from the Arrow columns
    (``leafcols``), not from the Python rows. ``first_leaf`` is the index the batch's first
    record leaf will have (:meth:`BatchLeaves.first_record_leaf`): the subtrees are aligned
    on leaf indexes, and their roots are used only if that proves right."""

    def __init__(self, work: Work, batch_id: int, scratch: Path, first_leaf: int) -> None:
        self._work, self._batch, self._dir, self._first = work, batch_id, scratch, first_leaf

    def _path(self, what: str, k: int) -> Path:
        return self._dir / f"{what}{k}.bin"

    def records(self, k: int, n: int) -> Iterator[RecordColumns]:
        return self._work.records(k, n)

    def subjects(self, k: int, n: int) -> SubjectColumns:
        return self._work.subjects(k, n)

    def after_staging(self, k: int, n: int) -> None:
        w = self._work
        lo, hi = w.share(w.lines, k, n)
        hashes = leafcols.record_hashes(w.v, w.p, lo, hi, self._batch)
        start = self._first + int(np.count_nonzero(w.p.new_rows < lo))
        roots = block_roots(start, hashes)
        first = min(roots, default=0)
        self._write(self._path("roots", k), first.to_bytes(8, "big") + b"".join(roots.values()))
        self._write(self._path("hashes", k), hashes)  # last: its presence means both

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.rename(path)  # whole or absent

    def collect(self, leaves: BatchLeaves, new_ids: np.ndarray) -> None:
        """Hand ``leaves`` the hashes and roots the workers wrote, in part (= id) order."""
        parts: list[bytes] = []
        roots: dict[int, bytes] = {}
        while (path := self._path("hashes", len(parts))).exists():
            data = self._path("roots", len(parts)).read_bytes()
            first = int.from_bytes(data[:8], "big")
            roots.update(
                {first + j: data[o : o + 32] for j, o in enumerate(range(8, len(data), 32))}
            )
            parts.append(path.read_bytes())
        hashes = b"".join(parts)
        if len(hashes) != 32 * len(new_ids):
            got = len(hashes) // 32
            raise RuntimeError(f"staging workers hashed {got} of {len(new_ids)} records")
        leaves.add_records(new_ids, hashes)
        leaves.add_roots(self._first, roots)
