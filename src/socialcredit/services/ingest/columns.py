"""The accepted rows of a plan as the store's columns, one chunk at a time.

Arrow strings become Python objects here and nowhere else. Columns with few distinct values
(authorities, categories, legal bases, names, dates) are dictionary-encoded first, so a
chunk shares one ``str`` per distinct value instead of allocating one per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.services.ingest.fields import IntArray, Progress, as_np
from socialcredit.services.ingest.plan import Plan
from socialcredit.services.ingest.validate import Validated
from socialcredit.store.ports import EventColumns, RecordColumns

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
