"""The accepted rows of a plan as the store's columns, one chunk at a time.

Arrow strings become Python objects here and nowhere else. Columns with few distinct values
(authorities, categories, legal bases, names, dates) are dictionary-encoded first, so a
chunk shares one ``str`` per distinct value instead of allocating one per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.registry.ingest.fields import BoolArray, IntArray, Progress, as_np
from socialcredit.registry.ingest.plan import Plan
from socialcredit.registry.ingest.validate import Validated
from socialcredit.store.ports import EventColumns, RecordColumns, SubjectColumns

# Fields whose values repeat a lot in real files; the rest are mostly distinct per row.
REPEATING = frozenset(
    {"authority", "category", "legal_basis", "subject_name", "decision_date", "amount_owed"}
    | {"legal_representative_name"}
)


def _values(arr: pa.Array, repeating: bool) -> list[Any]:
    if len(arr) == 0:
        return []
    if repeating:
        enc = pc.dictionary_encode(arr)
        words = np.array(enc.dictionary.to_pylist() + [None], dtype=object)
        codes = as_np(pc.fill_null(enc.indices, len(enc.dictionary)))
        return words[codes].tolist()  # type: ignore[no-any-return]
    return as_np(arr).tolist()  # type: ignore[no-any-return]


def _take(v: Validated, field: str, rows: IntArray) -> list[Any]:
    col = v.table.column(field).combine_chunks().take(pa.array(rows))
    return _values(col, field in REPEATING)


def records(v: Validated, p: Plan, lo: int, hi: int) -> RecordColumns:
    """New records listed on rows ``lo`` to ``hi`` (exclusive)."""
    m = (p.new_rows >= lo) & (p.new_rows < hi)
    rows = p.new_rows[m]
    kinds = np.where(v.ids.person[rows], "person", "enterprise").astype(object)
    return RecordColumns(
        id=p.new_ids[m].tolist(),
        authority=_take(v, "authority", rows),
        case_number=_take(v, "case_number", rows),
        category=_take(v, "category", rows),
        subject_id=_take(v, "subject_id", rows),
        subject_kind=kinds.tolist(),
        subject_name=_take(v, "subject_name", rows),
        decision_date=_take(v, "decision_date", rows),
        legal_basis=_take(v, "legal_basis", rows),
        amount_owed=_take(v, "amount_owed", rows),
        extension_years=v.ext[rows].tolist(),
        evidence_ref=_take(v, "evidence_ref", rows),
        legal_representative_id=_take(v, "legal_representative_id", rows),
        legal_representative_name=_take(v, "legal_representative_name", rows),
    )


def events(v: Validated, p: Plan, lo: int, hi: int) -> EventColumns:
    """Accepted events other than listings on rows ``lo`` to ``hi`` (exclusive)."""
    m = (p.event_rows >= lo) & (p.event_rows < hi)
    rows = p.event_rows[m]
    days = v.event_day[rows].astype("datetime64[D]")
    rl = rows.tolist()
    return EventColumns(
        id=p.event_ids[m].tolist(),
        record_id=p.record_id_of_row[rows].tolist(),
        type=v.event[rows].tolist(),
        event_date=[str(d) for d in days.tolist()],
        payload=[p.payload.get(i) for i in rl],
        reason=_take(v, "reason", rows),
        fingerprint=[p.fingerprint[i] for i in rl],
    )


@dataclass
class _Subjects:
    """The subjects to insert, each once, in identifier order, still as Arrow arrays."""

    ids: pa.Array
    names: pa.Array
    person: BoolArray

    def __len__(self) -> int:
        return len(self.ids)

    def columns(self, lo: int, hi: int) -> SubjectColumns:
        """Rows ``lo`` to ``hi`` (exclusive) as the store's columns."""
        kept, pers = self.ids.slice(lo, hi - lo), self.person[lo:hi]

        def part(a: int, b: int) -> pa.Array:
            return pc.utf8_slice_codeunits(kept, a, b)

        apers = pa.array(pers)
        born = pc.binary_join_element_wise(part(6, 10), part(10, 12), part(12, 14), "-")
        region = pc.if_else(apers, part(0, 6), part(2, 8))
        kinds = np.where(pers, "person", "enterprise").astype(object)
        return SubjectColumns(
            id=_values(kept, False),
            kind=kinds.tolist(),
            name=_values(self.names.slice(lo, hi - lo), True),
            birth_date=_values(pc.if_else(apers, born, pa.scalar(None, pa.string())), True),
            region_code=_values(region, True),
        )


def _subjects(v: Validated, p: Plan) -> _Subjects:
    rows = p.new_rows
    reps = rows[v.rep.person[rows]]
    sel, rsel = pa.array(rows), pa.array(reps)
    t = v.table
    ids = pa.concat_arrays([v.ids.value.take(sel), v.rep.value.take(rsel)])
    names = pa.concat_arrays(
        [
            t.column("subject_name").combine_chunks().take(sel),
            pc.fill_null(t.column("legal_representative_name").combine_chunks().take(rsel), ""),
        ]
    )
    person = np.concatenate([v.ids.person[rows], np.ones(len(reps), dtype=np.bool_)])
    # Arrow's sort is stable: the first of each run of equal ids is its first occurrence.
    order = pa.array(as_np(pc.sort_indices(ids)).astype(np.int64))
    ids = ids.take(order)
    starts = np.ones(len(ids), dtype=np.bool_)
    if len(ids) > 1:
        starts[1:] = as_np(pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1)))
    first = as_np(order)[starts]
    at = pa.array(first)
    return _Subjects(ids.filter(pa.array(starts)), names.take(at), person[first])


def subjects(v: Validated, p: Plan) -> SubjectColumns:
    """The subjects the new records name, each once, in identifier order.

    An identifier's first occurrence gives its row: record subjects (in line order) come
    before legal representatives, so a person's own record names them when it can. Sorted,
    the inserts into the subjects B-tree stay local.
    """
    s = _subjects(v, p)
    return s.columns(0, len(s))


class Work:
    """A batch's new records and subjects in parts a store may build in parallel
    (:class:`~socialcredit.store.sql_stage.StagedWork`): part ``k`` of ``n`` is the ``k``-th
    share of the lines (records) and of the sorted identifiers (subjects), so the parts
    concatenated are exactly what :func:`chunks` and :func:`subjects` give."""

    def __init__(self, v: Validated, p: Plan, size: int) -> None:
        self._v, self._p, self._size = v, p, size
        self._subjects: _Subjects | None = None

    @staticmethod
    def share(total: int, k: int, n: int) -> tuple[int, int]:
        return total * k // n, total * (k + 1) // n

    # read by the transparency log's hashing of the same parts (``logged.LoggedWork``)
    @property
    def v(self) -> Validated:
        return self._v

    @property
    def p(self) -> Plan:
        return self._p

    @property
    def size(self) -> int:
        return self._size

    @property
    def lines(self) -> int:
        return int(self._v.table.num_rows)

    def records(self, k: int, n: int) -> Iterator[RecordColumns]:
        lo, hi = self.share(self._v.table.num_rows, k, n)
        for a in range(lo, hi, self._size):
            yield records(self._v, self._p, a, min(hi, a + self._size))

    def subjects(self, k: int, n: int) -> SubjectColumns:
        # Each worker selects them all (in parallel, after its records, while the parent
        # copies records and rebuilds indexes) and keeps its share.
        if self._subjects is None:
            self._subjects = _subjects(self._v, self._p)
        lo, hi = self.share(len(self._subjects), k, n)
        return self._subjects.columns(lo, hi)

    def events(self) -> Iterator[EventColumns]:
        n = self._v.table.num_rows
        if len(self._p.event_rows):
            for lo in range(0, n, self._size):
                yield events(self._v, self._p, lo, min(n, lo + self._size))


def chunks(
    v: Validated, p: Plan, size: int, progress: Progress | None
) -> Iterator[tuple[RecordColumns, EventColumns]]:
    """The plan in chunks of ``size`` lines; ``progress`` hears of each once it is written."""
    n = v.table.num_rows
    for lo in range(0, max(n, 1), size):
        hi = min(n, lo + size)
        yield records(v, p, lo, hi), events(v, p, lo, hi)
        if progress is not None:
            progress(hi)  # the store asked for the next chunk: this one is written
