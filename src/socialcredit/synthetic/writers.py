"""Write generated tables as the ingest formats: JSON Lines, CSV or Parquet.

JSON Lines is built column-wise with Arrow compute (one ``"field":value,`` fragment per cell,
nulls left out) rather than ``json.dumps`` per row, which would take minutes for a national
year. Strings that would need escaping beyond backslash and quote fall back to ``json.dumps``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

CHUNK = 500_000
_CONTROL = r"[\x00-\x1f]"


def _json_strings(col: pa.Array) -> pa.Array:
    text = col.cast(pa.string())
    if pc.any(pc.match_substring_regex(text, _CONTROL)).as_py():
        return pa.array(
            [None if v is None else json.dumps(v, ensure_ascii=False) for v in text.to_pylist()],
            pa.string(),
        )
    escaped = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', escaped, '"', "")


def _fragment(name: str, col: pa.Array) -> pa.Array:
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_temporal(t):
        value = _json_strings(col)
    elif pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_decimal(t):
        value = col.cast(pa.string())
    elif pa.types.is_floating(t):
        value = col.cast(pa.string())
    else:
        raise TypeError(f"cannot write column {name} of type {t} as JSON")
    frag = pc.binary_join_element_wise(json.dumps(name) + ":", value, ",", "")
    return pc.fill_null(frag, "")


def _jsonl_chunk(table: pa.Table) -> bytes:
    parts = [_fragment(name, table.column(name).combine_chunks()) for name in table.column_names]
    body = pc.utf8_rtrim(pc.binary_join_element_wise(*parts, ""), ",")
    lines = pc.binary_join_element_wise("{", body, "}\n", "")
    return _data(lines)


def _data(arr: pa.Array) -> bytes:
    """The concatenated bytes of a null-free string array."""
    arr = arr.cast(pa.large_string())
    offsets = arr.buffers()[1]
    data = arr.buffers()[2]
    if offsets is None or data is None:
        return b""
    off = np.frombuffer(offsets, dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    return bytes(data.to_pybytes()[int(off[0]) : int(off[-1])])


def write_records(table: pa.Table, path: str | Path) -> Path:
    """Write ``table`` to ``path`` in the format its extension names (.jsonl, .csv, .parquet)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        pq.write_table(table, path, compression="zstd")
    elif suffix == ".csv":
        opts = pa_csv.WriteOptions(include_header=True, quoting_style="needed")
        pa_csv.write_csv(table, path, write_options=opts)
    elif suffix in (".jsonl", ".ndjson"):
        with path.open("wb") as f:
            for start in range(0, table.num_rows, CHUNK):
                f.write(_jsonl_chunk(table.slice(start, CHUNK)))
    else:
        raise ValueError(f"cannot tell the format of {path.name}: use .jsonl, .csv or .parquet")
    return path
