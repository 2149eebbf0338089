"""Reading record files (JSONL, CSV, Parquet) into string columns with line numbers.

pyarrow reads the common case fast; anything unusual (blank lines that shift line numbers,
a bad line, numbers a double would round, quoting) takes an exact line-by-line path.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from socialcredit.errors import BatchRejected, InvalidInput, Problem
from socialcredit.registry.ingest.fields import (
    FIELDS,
    IntArray,
    Parsed,
)
from socialcredit.registry.ingest.prescan import normalise_ids, oversized, prescan, shown

_SURROGATE = re.compile("[\udc80-\udcff]")
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
FORMATS |= {".parquet": "parquet", ".pq": "parquet"}


def as_strings(table: pa.Table) -> pa.Table:
    cols = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if not pa.types.is_string(col.type):
            col = col.cast(pa.string())
        cols.append(col.combine_chunks())
    return pa.table(cols, names=table.column_names)


def unknown_columns(table: pa.Table, lines: IntArray, header_line: int | None) -> None:
    unknown = [c for c in table.column_names if c not in FIELDS]
    if not unknown:
        return
    problems = []
    for name in unknown:
        line = header_line
        if line is None:
            present = np.flatnonzero(table.column(name).is_valid().to_numpy(zero_copy_only=False))
            line = int(lines[present[0]]) if len(present) else None
        problems.append(
            Problem(name, f"unknown column; the format has {', '.join(FIELDS)}", name, line)
        )
    raise BatchRejected(f"unknown column(s): {', '.join(unknown)}", tuple(problems))


def _rows_to_table(rows: list[dict[str, str | None]]) -> pa.Table:
    names: list[str] = []
    for r in rows:
        for k in r:
            if k not in names:
                names.append(k)
    return pa.table(
        {n: pa.array([r.get(n) for r in rows], type=pa.string()) for n in names}
        if names
        else {"event": pa.array([], type=pa.string())}
    )


def _json_value(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False)


def _read_jsonl_slow(data: bytes) -> Parsed:
    rows: list[dict[str, str | None]] = []
    lines: list[int] = []
    problems: list[Problem] = []
    total = 0
    for no, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        total += 1
        try:
            obj = json.loads(raw, parse_float=str, parse_int=str)
        except UnicodeDecodeError:
            problems.append(Problem("line", "is not valid UTF-8", None, no))
            continue
        except RecursionError:
            problems.append(Problem("line", "is nested too deep", shown(raw), no))
            continue
        except json.JSONDecodeError as e:
            text = shown(raw)
            problems.append(
                Problem("line", f"not valid JSON: {e.msg} at column {e.colno}", text, no)
            )
            continue
        if not isinstance(obj, dict):
            problems.append(Problem("line", "must be a JSON object", shown(raw), no))
            continue
        rows.append({k: _json_value(v) for k, v in obj.items()})
        lines.append(no)
    return Parsed(_rows_to_table(rows), np.array(lines, dtype=np.int64), problems, total)


def _read_jsonl(data: bytes) -> Parsed:
    # pyarrow parses fast; anything unusual (blank lines that shift line numbers, a bad
    # line, numbers that a double would round, nested values) takes the exact slow path.
    if data.startswith(b"\n") or b"\n\n" in data or b"\r" in data:
        return _read_jsonl_slow(data)
    try:
        table = pa_json.read_json(
            io.BytesIO(data),
            read_options=pa_json.ReadOptions(block_size=1 << 24),
            parse_options=pa_json.ParseOptions(unexpected_field_behavior="infer"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _read_jsonl_slow(data)
    if any(
        not (pa.types.is_string(f.type) or pa.types.is_null(f.type) or pa.types.is_integer(f.type))
        for f in table.schema
    ):
        return _read_jsonl_slow(data)
    n = table.num_rows
    return Parsed(as_strings(table), np.arange(1, n + 1, dtype=np.int64), [], n)


def _read_csv_slow(data: bytes) -> Parsed:
    problems: list[Problem] = []
    # A line that is not UTF-8 (one GBK line) is that line's problem: decoded with
    # surrogateescape, its fields carry lone surrogates and it is refused below.
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        problem = Problem("file", "has no CSV header row", None, 1)
        raise BatchRejected("no CSV header", (problem,)) from None
    rows: list[dict[str, str | None]] = []
    lines: list[int] = []
    total = 0
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            total += 1
            problems.append(Problem("line", f"not valid CSV: {e}", None, start))
            break  # the reader cannot resynchronise after a quoting error
        if not fields or fields == [""]:
            continue
        total += 1
        if any(_SURROGATE.search(f) for f in fields):
            problems.append(Problem("line", "is not valid UTF-8", shown(",".join(fields)), start))
            continue
        if len(fields) != len(header):
            reason = f"has {len(fields)} fields, the header has {len(header)}"
            problems.append(Problem("line", reason, shown(",".join(fields)), start))
            continue
        rows.append({h: (v if v != "" else None) for h, v in zip(header, fields, strict=True)})
        lines.append(start)
    table = (
        _rows_to_table(rows) if rows else pa.table({h: pa.array([], pa.string()) for h in header})
    )
    return Parsed(table, np.array(lines, dtype=np.int64), problems, total)


def _utf8(data: bytes) -> bool:
    # pyarrow decodes a ragged row before its handler sees it, and a bad byte there raised
    # inside pyarrow (a traceback printed): files that are not UTF-8 take the exact path
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_csv(data: bytes) -> Parsed:
    first = data.split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip("\r")
    header = next(csv.reader([first]), [])
    unknown_columns(
        pa.table({h: pa.array([], pa.string()) for h in header}), np.zeros(0, np.int64), 1
    )
    if b'"' in data or b"\r" in data or b"\n\n" in data or not _utf8(data):
        return _read_csv_slow(data)
    skipped: list[object] = []

    def on_invalid(row: object) -> str:
        skipped.append(True)  # not the row: its text may not decode
        return "skip"

    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(block_size=1 << 24),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pa_csv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return _read_csv_slow(data)
    if skipped:
        return _read_csv_slow(data)
    n = table.num_rows
    return Parsed(as_strings(table), np.arange(2, n + 2, dtype=np.int64), [], n)


def _read_parquet(data: bytes) -> Parsed:
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as e:
        raise BatchRejected(
            "not a readable Parquet file",
            (Problem("file", f"is not a readable Parquet file: {e}", None, None),),
        ) from None
    try:
        table = as_strings(table)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise BatchRejected(
            "a column cannot be read as text", (Problem("file", str(e), None, None),)
        ) from None
    n = table.num_rows
    return Parsed(table, np.arange(1, n + 1, dtype=np.int64), [], n)


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt is not None:
        if fmt not in ("jsonl", "csv", "parquet"):
            raise InvalidInput.one("format", "must be jsonl, csv or parquet", fmt)
        return fmt
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise InvalidInput.one(
            "format",
            "cannot tell the format from the extension; use .jsonl, .csv or .parquet",
            path.name,
        )
    return found


def read_records(data: bytes, fmt: str) -> Parsed:
    early: list[Problem] = []
    if fmt != "parquet":  # hostile lines blanked before any parser sees them
        data, early = prescan(data, fmt)
    parsed = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}[fmt](data)
    unknown_columns(parsed.table, parsed.lines, 1 if fmt == "csv" else None)
    table, lines, late = oversized(normalise_ids(parsed.table), parsed.lines)
    if not early and not late:
        return Parsed(table, lines, parsed.problems, parsed.total_lines)
    problems = sorted([*early, *parsed.problems, *late], key=lambda p: p.line or 0)
    return Parsed(table, lines, problems, parsed.total_lines + len(early))
