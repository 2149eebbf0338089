"""A CSV or NDJSON manifest read a block of rows at a time, by pyarrow where that is exact.

The body (spooled to a file) is cut into blocks of about :data:`BLOCK_BYTES` at line ends.
A block is parsed by pyarrow's CSV or JSON reader only when each of its lines reads the same
there as in the row-by-row reader of :mod:`~socialcredit.screening.manifest`: no line longer
than the row limit, no quote (CSV), no NUL, no lone carriage return, no line of only spaces,
and for NDJSON exactly one ``{`` and no ``[`` a line (one flat object: nothing to nest, no
two objects on a line). Checked with NumPy over the block's bytes, then pyarrow; a block that
fails either (or that pyarrow refuses: a short CSV row, invalid UTF-8, a number where a
string belongs, a field twice) is read by the row-by-row reader itself, so its rows and
their errors are that reader's. A parsed block keeps each row's line, so any row the block
path does not answer is read from its line by that same reader.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from socialcredit.screening import manifest
from socialcredit.screening.manifest import MAX_ROW_CHARS, MakeRow, Row

BLOCK_BYTES = 4 << 20  # ~60,000 CSV rows of an ID, a name, a purpose and a reference
ROWS_AT_ONCE = 10_000  # rows of a manifest read row by row, handed on at once
FIELDS = ("subject_id", "name", "sector", "purpose", "reference")
_JSON_SCHEMA = pa.schema([(f, pa.string()) for f in FIELDS])
_BOM = b"\xef\xbb\xbf"


@dataclass
class Parsed:
    """A block's rows as string columns (None where the manifest has no such field), with
    each row's line (``lines[starts[i]:ends[i]]``) for the rows answered row by row."""

    n: int
    cols: dict[str, pa.Array | None]
    block: bytes
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]

    def line(self, i: int) -> bytes:
        return self.block[int(self.starts[i]) : int(self.ends[i])]


@dataclass
class Rows:
    """A block read row by row: its rows (requests or errors) in order."""

    rows: list[Row]

    @property
    def n(self) -> int:
        return len(self.rows)


Block = Parsed | Rows


def cut(body: IO[bytes], size: int | None = None) -> Iterator[bytes]:
    """The body in pieces of about ``size`` (BLOCK_BYTES) bytes that end at a line end (the
    last may not)."""
    size = size or BLOCK_BYTES
    rest = b""
    while True:
        data = body.read(size)
        if not data:
            if rest:
                yield rest
            return
        buf = rest + data
        at = buf.rfind(b"\n")
        if at < 0:
            rest = buf
            continue
        rest = buf[at + 1 :]
        yield buf[: at + 1]


def _lines(block: bytes, csv: bool) -> Lines | None:
    """The block's rows as lines, and which of them pyarrow reads as the row-by-row reader
    does (see the module's docstring); None when the lines themselves differ (a lone
    carriage return, a byte order mark)."""
    a = np.frombuffer(block, dtype=np.uint8)
    if block.startswith(_BOM):
        return None
    if (a == 13).any():
        cr = np.flatnonzero(a == 13)
        if cr[-1] + 1 >= len(a) or (a[cr + 1] != 10).any():
            return None  # a lone carriage return ends a line in the row-by-row reader
    nl = np.flatnonzero(a == 10)
    ends = np.append(nl, len(a)) if not len(nl) or nl[-1] != len(a) - 1 else nl
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    ends = ends.astype(np.int64)
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if not len(starts):
        return Lines(starts, ends, np.zeros(0, dtype=np.bool_))
    # Per line, over [start, next start): the line, its line end and the empty lines after
    # it, which hold no byte counted here.
    odd = (a == 0) | (a == (34 if csv else 91))  # NUL; a quote, or a JSON array
    if csv:
        visible = (a - np.uint8(33)) < np.uint8(94)
        seen = np.bitwise_or.reduceat(visible.view(np.uint8) | (odd.view(np.uint8) << 1), starts)
        blank = (seen & 1) == 0
        odd_line = (seen & 2).astype(np.bool_)
    else:  # one flat object a line: exactly one brace opens (so no line is blank)
        at = np.searchsorted(starts, np.flatnonzero(a == 123), "right") - 1
        odd_line = np.bincount(at, minlength=len(starts)) != 1
        odd_line |= np.bitwise_or.reduceat(odd.view(np.uint8), starts).astype(np.bool_)
        blank = odd_line  # which of them are blank is told below
    odd_line |= (ends - starts) + 1 > MAX_ROW_CHARS
    if blank.any():  # blank to the row-by-row reader (no row at all), or an odd row
        gone = [
            i
            for i in np.flatnonzero(blank).tolist()
            if not block[starts[i] : ends[i]].decode("utf-8", "replace").strip()
        ]
        odd_line |= blank
        if gone:
            keep = np.ones(len(starts), dtype=np.bool_)
            keep[gone] = False
            starts, ends, odd_line = starts[keep], ends[keep], odd_line[keep]
    return Lines(starts, ends, odd_line)


@dataclass
class Lines:
    """A block's rows: each one line ``[start, end)``; ``odd`` ones are read row by row."""

    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    odd: npt.NDArray[np.bool_]

    def clean(self, block: bytes) -> bytes:
        """The block with only the lines that are not odd."""
        if not self.odd.any():
            return block
        s, e = self.starts, self.ends
        return b"".join(block[s[i] : e[i]] + b"\n" for i in np.flatnonzero(~self.odd).tolist())


def _columns(table: pa.Table) -> dict[str, pa.Array | None]:
    cols: dict[str, pa.Array | None] = {}
    for f in FIELDS:
        if f in table.column_names:
            c = table.column(f)
            cols[f] = c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c
        else:
            cols[f] = None
    return cols


def _csv_table(block: bytes, names: list[str]) -> pa.Table:
    return pacsv.read_csv(
        io.BytesIO(block),
        read_options=pacsv.ReadOptions(
            column_names=names, use_threads=False, block_size=len(block) + 1
        ),
        parse_options=pacsv.ParseOptions(quote_char=False),
        convert_options=pacsv.ConvertOptions(
            column_types={f: pa.string() for f in names},
            include_columns=[f for f in FIELDS if f in names],
            strings_can_be_null=False,
        ),
    )


def _ndjson_table(block: bytes) -> pa.Table:
    return pajson.read_json(
        io.BytesIO(block),
        read_options=pajson.ReadOptions(use_threads=False, block_size=len(block) + 1),
        parse_options=pajson.ParseOptions(
            explicit_schema=_JSON_SCHEMA, unexpected_field_behavior="ignore"
        ),
    )


def _parse(block: bytes, names: list[str] | None) -> Parsed | None:
    got = _lines(block, names is not None)
    if got is None or got.odd.all():
        return None
    n = len(got.starts)
    if not n:
        return Parsed(0, dict.fromkeys(FIELDS), block, got.starts, got.ends)
    clean = got.clean(block)
    try:
        table = _ndjson_table(clean) if names is None else _csv_table(clean, names)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows != n - int(got.odd.sum()):
        return None
    cols = _columns(table)
    if got.odd.any():  # the odd rows' fields are null: none is plain, each is read alone
        at = np.full(n, -1, dtype=np.int64)
        at[~got.odd] = np.arange(table.num_rows)
        where = pa.array(at, mask=got.odd)
        cols = {f: None if c is None else c.take(where) for f, c in cols.items()}
    return Parsed(n, cols, block, got.starts, got.ends)


class Reader:
    """A manifest's blocks, numbered; ``row(parsed, i, n)`` reads one row of a parsed block
    as the row-by-row reader would (for the rows the block path leaves to that path)."""

    def __init__(self, body: IO[bytes], kind: str, make_row: MakeRow) -> None:
        self.body = body
        self.csv = kind == "csv"
        self.make_row = make_row
        self.header: list[str] | None = None

    def _start_csv(self) -> bool:
        """Read the header; False when the manifest must go row by row from its start."""
        first = self.body.readline()
        if not first:
            return True
        text = first.decode("utf-8", errors="replace")
        if (
            len(text) > MAX_ROW_CHARS
            or b'"' in first
            or b"\r" in first.rstrip(b"\r\n")
            or first.endswith(b"\r")
        ):
            return False
        self.header = manifest.csv_header(text)
        # a name twice: the row-by-row reader keeps the last, pyarrow refuses
        return bool(self.header) and len(set(self.header)) == len(self.header)

    def blocks(self) -> Iterator[Block]:
        if self.csv and not self._start_csv():
            self.body.seek(0)  # an odd header: all of it row by row, ROWS_AT_ONCE at a time
            rows: list[Row] = []
            for r in manifest.csv_rows(self.body, self.make_row):
                rows.append(r)
                if len(rows) >= ROWS_AT_ONCE:
                    yield Rows(rows)
                    rows = []
            if rows:
                yield Rows(rows)
            return
        if self.csv and self.header is None:
            return  # an empty body
        start = 1
        for block in cut(self.body):
            got: Block | None = _parse(block, self.header)
            if got is None:
                got = Rows(self._rows(block, start))
            start += got.n
            yield got

    def _rows(self, block: bytes, start: int) -> list[Row]:
        if self.header is not None:
            return manifest.csv_block_rows(block, self.header, self.make_row, start)
        return manifest.ndjson_block_rows(block, self.make_row, start)

    def row(self, got: Parsed, i: int, n: int) -> Row:
        rows = self._rows(got.line(i) + b"\n", n)
        assert len(rows) == 1
        return rows[0]
