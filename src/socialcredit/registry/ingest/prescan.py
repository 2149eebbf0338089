"""Hostile lines caught on the raw bytes, before any parser sees them.

A JSONL line nested 1,000 deep made Python's ``json`` raise ``RecursionError`` (the command
died with exit 70) and 20,000 deep segfaulted pyarrow's reader; a field over 131,072
characters stops the ``csv`` module for the rest of the file; a NUL is never data. So each
such line is reported as that line's problem and blanked (its line number is kept) before
parsing, and the good lines go on. The checks run on the whole buffer in C first (a regular
expression for an over-long line, ``count`` and ``in`` for brackets and NULs); only a file that
trips one is looked at line by line.

After parsing, :func:`oversized` refuses rows with an over-long value (a 10,000-character
name) the same way; :func:`shown` cuts an echoed value short and makes it printable.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.domain.normalise import normalise_identifier
from socialcredit.errors import Problem
from socialcredit.runtime.jsonscan import nests_deeper

MAX_LINE_BYTES = 64 * 1024  # a record is well under 2 KB
MAX_DEPTH = 8  # a record is a flat object; a few nested values at most
MAX_VALUE_CHARS = 4_096
MAX_NAME_CHARS = 100  # the longest names on ID cards are under 40 characters
SHOWN_CHARS = 80

_LONG_LINE = re.compile(rb"[^\n]{%d}" % (MAX_LINE_BYTES + 1))


def shown(raw: bytes | str) -> str:
    """A value to echo in a problem: at most ``SHOWN_CHARS``, decodable, printable."""
    s = raw[: SHOWN_CHARS * 4].decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    s = s.encode("utf-8", "replace").decode("utf-8")  # lone surrogates from a bad decode
    s = s.replace("\x00", "\\0")
    return s if len(s) <= SHOWN_CHARS else s[:SHOWN_CHARS] + "..."


def prescan(data: bytes, fmt: str) -> tuple[bytes, list[Problem]]:
    """The data with each hostile line blanked, and a problem for each."""
    jsonl = fmt == "jsonl"
    lines_n = data.count(b"\n") + 1
    suspicious = (
        b"\x00" in data
        or (jsonl and b"\\u0000" in data)
        or (jsonl and data.count(b"[") + data.count(b"{") > lines_n)
        or _LONG_LINE.search(data) is not None
    )
    if not suspicious:
        return data, []
    problems: list[Problem] = []
    out: list[bytes] = []
    for no, line in enumerate(data.split(b"\n"), 1):
        why = None
        if len(line) > MAX_LINE_BYTES:
            why = f"is longer than {MAX_LINE_BYTES} bytes"
        elif b"\x00" in line or (jsonl and b"\\u0000" in line):
            why = "contains a NUL character"
        elif jsonl and nests_deeper(line.decode("latin-1"), MAX_DEPTH):  # ASCII brackets
            why = f"is nested deeper than {MAX_DEPTH}"
        if why is None:
            out.append(line)
        else:
            if no == 1 and fmt == "csv":
                out.append(line)  # the header: the CSV reader reports it
                continue
            problems.append(Problem("line", why, shown(line), no))
            out.append(b"")
    return b"\n".join(out), problems


def oversized(table: pa.Table, lines: np.ndarray) -> tuple[pa.Table, np.ndarray, list[Problem]]:
    """Rows with a value over ``MAX_VALUE_CHARS`` (a name over ``MAX_NAME_CHARS``) or a NUL
    are refused, one problem a row; the rest are kept in order."""
    if table.num_rows == 0:
        return table, lines, []
    bad = np.zeros(table.num_rows, dtype=bool)
    problems: list[Problem] = []
    for name in table.column_names:
        col = table.column(name)
        if not pa.types.is_string(col.type):
            continue
        cap = MAX_NAME_CHARS if name == "subject_name" else MAX_VALUE_CHARS
        lengths = pc.fill_null(pc.utf8_length(col), 0).to_numpy()
        nul = pc.fill_null(pc.match_substring(col, "\x00"), False).to_numpy(zero_copy_only=False)
        hit = (lengths > cap) | nul
        for i in np.flatnonzero(hit & ~bad):
            v = col[int(i)].as_py() or ""
            why = "contains a NUL character" if "\x00" in v else f"is longer than {cap} characters"
            problems.append(Problem(name, why, shown(v), int(lines[i])))
        bad |= hit
    if not bad.any():
        return table, lines, []
    keep = ~bad
    return table.filter(pa.array(keep)), lines[keep], problems


ID_COLUMNS = ("subject_id", "legal_representative_id")


def normalise_ids(table: pa.Table) -> pa.Table:
    """Identifier columns through :func:`normalise_identifier`: a full-width or Arabic-Indic
    ID is stored under its canonical key. Only the non-ASCII values are touched (the
    validator strips and upper-cases the rest, as before)."""
    for name in ID_COLUMNS:
        if name not in table.column_names:
            continue
        col = table.column(name)
        ascii_ = pc.fill_null(pc.string_is_ascii(col), True)
        if pc.all(ascii_).as_py():
            continue
        values = col.to_pylist()
        fixed = [v if v is None or v.isascii() else normalise_identifier(v) for v in values]
        i = table.column_names.index(name)
        table = table.set_column(i, name, pa.array(fixed, type=pa.string()))
    return table
