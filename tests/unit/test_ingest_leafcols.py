"""Record leaf payloads built from Arrow columns are orjson's bytes, escapes and nulls too."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa

from socialcredit.integrity import leaf_hashes, leaf_payloads
from socialcredit.integrity.leaves import _decimal
from socialcredit.registry.ingest.leafcols import (
    TEXT,
    _money,
    hash_payloads,
    payload_list,
    record_payloads,
)

ODD = ["plain", 'quote " in', "back\\slash", "tab\tand\nnewline", "ctl\x01\x1f", "王伟", "", None]


def _fields(n: int) -> dict[str, object]:
    cols: dict[str, object] = {
        f: pa.array([ODD[(i + k) % len(ODD)] for i in range(n)], pa.string())
        for k, f in enumerate(TEXT)
    }
    cols["subject_kind"] = pa.array(["person", "enterprise"] * (n // 2) + ["person"] * (n % 2))
    cols["extension_years"] = np.arange(n, dtype=np.int64) % 3
    cols["id"] = np.arange(10**9, 10**9 + n, dtype=np.int64)
    cols["batch_id"] = np.full(n, 7, dtype=np.int64)
    return cols


def _python(fields: dict[str, object]) -> list[bytes]:
    cols = {
        k: (c.tolist() if isinstance(c, np.ndarray) else c.to_pylist())  # type: ignore[attr-defined]
        for k, c in fields.items()
    }
    return leaf_payloads("record", cols)


def test_payloads_match_orjson_byte_for_byte_with_escapes_and_nulls() -> None:
    fields = _fields(50)
    assert list(payload_list(fields)) == _python(fields)


def test_payloads_match_without_any_escape_the_fast_path() -> None:
    fields = _fields(40)
    for f in TEXT:
        fields[f] = pa.array([f"v{i}" if i % 5 else None for i in range(40)], pa.string())
    assert list(payload_list(fields)) == _python(fields)


def test_hashes_are_the_leaf_hashes() -> None:
    fields = _fields(33)
    got = hash_payloads(record_payloads(fields))
    assert got == b"".join(leaf_hashes(_python(fields)))


def test_payloads_match_where_no_column_has_a_null_the_quotes_in_the_literals() -> None:
    fields = _fields(40)
    for k, f in enumerate(TEXT):
        fields[f] = pa.array([ODD[(i + k) % 7] or "x" for i in range(40)], pa.string())
    assert list(payload_list(fields)) == _python(fields)


def test_amounts_are_written_as_the_decimal_read_back_is() -> None:
    given = ["", "0", "00", "7", "007.5", "0.5", "0.05", "12.3", "12.30", "100", "9" * 18, None]
    want = [None if a is None else _decimal(Decimal(a)) if a else a for a in given]
    assert _money(pa.array(given, pa.string())).to_pylist() == want
    assert _money(pa.array(["12", "3.4", None], pa.string())).to_pylist() == ["12.00", "3.40", None]


def test_payloads_match_where_a_column_holds_one_value_or_none_at_all() -> None:
    fields = _fields(30)
    fields["evidence_ref"] = pa.nulls(30, pa.string())
    fields["extension_years"] = np.full(30, 2, dtype=np.int64)
    fields["id"] = np.full(30, 10**12, dtype=np.int64)
    assert list(payload_list(fields)) == _python(fields)
    one = _fields(1)
    assert list(payload_list(one)) == _python(one)
