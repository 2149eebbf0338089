"""A batch's leaves in the transparency log: one per record, one per event, one for the batch.

The leaves go in through ``append_hashes`` in the batch's own transaction, after the rows,
so a crash or a rollback leaves neither. A leaf's payload must be byte for byte what
``log verify`` recomputes from the row read back (``integrity.leaf_payload`` over
``select(records)``): the store's columns already hold dates as ISO text and amounts as
canonical decimal text, which encode exactly as the ``date`` and ``Decimal`` read back do;
only an event's ``payload`` is JSON text here and a parsed value there.

Record payloads are built from the batch's Arrow columns (``leafcols``); hashing them is
still a C call a row. On the staged path (large SQLite batches) :class:`LoggedWork` does
both in the forked staging workers, each writing its part's leaf hashes to a scratch file
the parent reads back in part order; elsewhere the batch's process does it. Events (few,
and only as Python rows) are encoded as the chunks pass (:func:`logged_chunks`).
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
    leaf_payload,
    leaf_payloads,
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

    def add_records(self, ids: np.ndarray, hashes: bytes) -> None:
        """Record leaf hashes (concatenated) for records ``ids``, in id order."""
        if len(ids):
            self.record_ids.append(np.asarray(ids, dtype=np.int64))
            self.record_hashes.append(hashes)

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
            append_hashes(conn, RECORD, refs, b"".join(self.record_hashes))
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
    leave their share's record leaf hashes in ``scratch/hashes<k>.bin``.

    A worker hashes after it has staged its records and reported them (``subjects`` is
    called then), so the parent copies records in, and rebuilds indexes, meanwhile; the
    payloads come from the Arrow columns (``leafcols``), not from the Python rows."""

    def __init__(self, work: Work, batch_id: int, scratch: Path) -> None:
        self._work, self._batch, self._dir = work, batch_id, scratch

    def _path(self, k: int) -> Path:
        return self._dir / f"hashes{k}.bin"

    def records(self, k: int, n: int) -> Iterator[RecordColumns]:
        return self._work.records(k, n)

    def subjects(self, k: int, n: int) -> SubjectColumns:
        w = self._work
        lo, hi = w.share(w.lines, k, n)
        tmp = self._path(k).with_suffix(".part")
        with tmp.open("wb") as f:
            for a in range(lo, hi, w.size):
                f.write(leafcols.record_hashes(w.v, w.p, a, min(hi, a + w.size), self._batch))
        tmp.rename(self._path(k))  # whole or absent
        return w.subjects(k, n)

    def collect(self, leaves: BatchLeaves, new_ids: np.ndarray) -> None:
        """Hand ``leaves`` the hashes the workers wrote, in part (= id) order."""
        parts: list[bytes] = []
        while self._path(len(parts)).exists():
            parts.append(self._path(len(parts)).read_bytes())
        hashes = b"".join(parts)
        if len(hashes) != 32 * len(new_ids):
            got = len(hashes) // 32
            raise RuntimeError(f"staging workers hashed {got} of {len(new_ids)} records")
        leaves.add_records(new_ids, hashes)
