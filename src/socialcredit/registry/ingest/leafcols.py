"""A bulk batch's record leaves built from its Arrow columns, at C speed.

``integrity.leaf_payloads`` builds each canonical payload with a dict and an orjson call:
~1.4 us a row, a tenth of the whole ingest's CPU. Here the same bytes come from Arrow
string kernels: every field becomes its JSON text (strings quoted, nulls ``null``, numbers
as digits) and one element-wise join lays them out in sorted key order. Only rows with a
character JSON must escape (``"``, ``\\``, control characters) are rebuilt by orjson, so the
bytes are orjson's in every case; ``tests/unit/test_ingest_leafcols.py`` checks them against
``leaf_payloads`` byte for byte, and ``log verify`` against the rows read back.

What is left per row is the SHA-256 of each payload (one C call each, the GIL held).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.integrity import leaf_payloads
from socialcredit.registry.ingest.fields import IntArray, as_np
from socialcredit.registry.ingest.plan import Plan
from socialcredit.registry.ingest.validate import Validated

RECORD = "record"
# the records table's text columns that come straight from the file's columns
TEXT = (
    "amount_owed",
    "authority",
    "case_number",
    "category",
    "decision_date",
    "evidence_ref",
    "legal_basis",
    "legal_representative_id",
    "legal_representative_name",
    "subject_id",
    "subject_name",
)
NEEDS_ESCAPE = r'["\\\x00-\x1f]'
CENTS = pa.array([".00", "0", ""])  # what an amount with 0, 1 or 2 decimals lacks
KINDS = pa.array(["enterprise", "person"])
HASH_LINES = 1 << 16  # lines whose leaves are built and hashed at a time


def _escapes(arr: pa.Array) -> np.ndarray | None:
    """Rows whose text JSON must escape, or None when no row has any: one pass over the
    column's bytes (3x cheaper than a regex per row) and the regex only if it finds one."""
    data = arr.buffers()[2]
    if data is None:
        return None
    b = np.frombuffer(data, dtype=np.uint8)
    if not ((b < 0x20) | (b == 0x22) | (b == 0x5C)).any():
        return None
    return as_np(pc.fill_null(pc.match_substring_regex(arr, NEEDS_ESCAPE), False)).astype(bool)


def _quoted(arr: pa.Array) -> pa.Array:
    q = pc.binary_join_element_wise(pa.scalar('"'), arr, pa.scalar('"'), pa.scalar(""))
    return pc.fill_null(q, "null")


def _money(arr: pa.Array) -> pa.Array:
    """Amounts as ``integrity.leaf_payload`` writes a Decimal of at most two places (what
    either backend reads back): no leading zeros, exactly two decimals. The amounts are
    valid (``fields.AMOUNT_RE``): each gets the suffix its count of decimals calls for,
    found from the position of its dot (a regex pass costs 5x more); only leading zeros,
    rare, take a regex."""
    if pc.any(pc.starts_with(arr, "0")).as_py():
        arr = pc.replace_substring_regex(arr, r"^0+([0-9])", r"\1")
    dot = as_np(pc.fill_null(pc.find_substring(arr, "."), -1))
    size = as_np(pc.fill_null(pc.binary_length(arr), 0))
    # (an empty text, never valid, is left as it is: as the regexes it replaces left it)
    decimals = np.where(dot < 0, np.where(size == 0, 2, 0), size - dot - 1).astype(np.int8)
    return pc.binary_join_element_wise(arr, _coded(decimals, CENTS), "")


def _coded(codes: np.ndarray, words: pa.Array) -> pa.Array:
    """``words[codes]`` as a plain string array (a dictionary cast: no Python strings)."""
    return pa.DictionaryArray.from_arrays(pa.array(codes), words).cast(pa.string())


def _digits(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values.astype(np.int64)), pa.string())


def _rows(col: pa.ChunkedArray, rows: IntArray) -> pa.Array:
    """``col`` on ``rows`` (ascending) as one array: a slice where the rows are consecutive
    (every line a new record, the usual batch), else a take; taken before the chunks are
    combined, which would copy the whole column for every part of the batch."""
    n = len(rows)
    if n and int(rows[-1]) - int(rows[0]) == n - 1:
        return col.slice(int(rows[0]), n).combine_chunks()
    return col.take(pa.array(rows)).combine_chunks()


def record_fields(
    v: Validated, p: Plan, rows: IntArray, ids: IntArray, batch_id: int
) -> dict[str, pa.Array]:
    """The records on ``rows`` as the records table holds them, one Arrow array per column."""
    out: dict[str, Any] = {f: _rows(v.table.column(f), rows) for f in TEXT}
    out["amount_owed"] = _money(out["amount_owed"])
    out["subject_kind"] = _coded(v.ids.person[rows].astype(np.int8), KINDS)
    out["extension_years"] = v.ext[rows]
    out["id"] = ids
    out["batch_id"] = np.full(len(rows), batch_id, dtype=np.int64)
    return out


def record_payloads(fields: dict[str, Any]) -> pa.Array:
    """The records' canonical leaf payloads (``integrity.leaf_payload`` bytes) as an Arrow
    binary array, each prefixed with the leaf hash's ``0x00``."""
    names = sorted(fields)
    n = len(fields["id"])
    parts: list[Any] = []
    escape = np.zeros(n, dtype=np.bool_)
    lit = "\x00" + RECORD + "\n{"  # the literal text up to the next column's value
    for name in names:
        col = fields[name]
        lit += ("" if lit.endswith("{") else ",") + f'"{name}":'
        # a column with one value (the batch's id, often the extension, an absent field)
        # goes in the literal: each argument of the join costs as much as a column
        if isinstance(col, np.ndarray):
            if n and (col == col[0]).all():
                lit += str(int(col[0]))
            else:
                parts += [pa.scalar(lit), _digits(col)]
                lit = ""
            continue
        if n and col.null_count == n:
            lit += "null"
            continue
        bad = _escapes(col)
        if bad is not None:
            escape |= bad
        if col.null_count:
            parts += [pa.scalar(lit), _quoted(col)]
            lit = ""
        else:  # no null: the quotes go in the literals around it
            parts += [pa.scalar(lit + '"'), col]
            lit = '"'
    parts.append(pa.scalar(lit + "}"))
    joined = pc.binary_join_element_wise(*parts, pa.scalar(""))
    if escape.any():
        idx = np.flatnonzero(escape)
        cols = {
            k: (c[idx].tolist() if isinstance(c, np.ndarray) else c.take(pa.array(idx)).to_pylist())
            for k, c in fields.items()
        }
        fixed = [b"\x00" + b for b in leaf_payloads(RECORD, cols)]
        whole = np.array(joined.cast(pa.binary()).to_pylist(), dtype=object)
        whole[idx] = fixed
        return pa.array(whole.tolist(), pa.binary())
    return joined.cast(pa.binary())


def hash_payloads(payloads: pa.Array) -> bytes:
    """SHA-256 of each element (already prefixed), concatenated."""
    if len(payloads) == 0:
        return b""
    payloads = payloads.combine_chunks() if isinstance(payloads, pa.ChunkedArray) else payloads
    bufs = payloads.buffers()
    offs = np.frombuffer(
        bufs[1], dtype=np.int32, count=len(payloads) + 1, offset=payloads.offset * 4
    )
    data = memoryview(bufs[2])
    sha = hashlib.sha256
    o = offs.tolist()
    return b"".join([sha(data[a:b]).digest() for a, b in zip(o[:-1], o[1:], strict=True)])


def record_hashes(v: Validated, p: Plan, lo: int, hi: int, batch_id: int) -> bytes:
    """Leaf hashes of the new records on lines ``lo`` to ``hi`` (exclusive), in id order,
    built :data:`HASH_LINES` lines at a time: the payloads of 250,000 lines are ~115 MB,
    and buffers that size are fresh pages each time (measured: 0.25 s of page faults per
    million records, a fifth of the hashing's own CPU)."""
    out = []
    for a in range(lo, hi, HASH_LINES):
        m = (p.new_rows >= a) & (p.new_rows < min(hi, a + HASH_LINES))
        rows = p.new_rows[m]
        if len(rows):
            fields = record_fields(v, p, rows, p.new_ids[m], batch_id)
            out.append(hash_payloads(record_payloads(fields)))
    return b"".join(out)


def payload_list(fields: dict[str, Any]) -> Sequence[bytes]:
    """For tests: the payloads without the leaf prefix, as Python bytes."""
    return [b[1:] for b in record_payloads(fields).to_pylist()]
