"""Batch manifests at index speed: parsed, checked and answered a block of rows at a time.

A manifest (CSV with a header line, or NDJSON) is read from its spooled body in blocks of
about :data:`BLOCK_BYTES`, cut at a record boundary, and each block is parsed by pyarrow's
CSV or JSON reader into string columns. The *plain* rows of a block (an 18-character
resident ID with its check character right, a name whose hash the name table holds for that
key, a sector the party serves) are checked in one ``check_batch`` call on the index and
answered from column arrays; their screening ids are drawn and their log rows queued a
block at a time. Every other row (a bad or missing field, an enterprise code, a wrong name,
a sector not served, a deny, an incentive) goes through :meth:`ScreeningRuntime.screen_rows`,
the row-by-row path, so its answer, its error, its refusal in the log and any budget counted
there are exactly those of that path. A block pyarrow refuses (a row with too many or too few
fields, a line that is not an object, invalid UTF-8) is parsed row by row as before.

Memory is bounded by a block: the body is spooled to a temporary file before answering (the
response streams on the channel the body arrives on), and each block's answers are one
``bytes`` yielded to the response before the next block is read.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from socialcredit.domain.identity import RIC_WEIGHTS
from socialcredit.errors import InvalidInput, RegistryError
from socialcredit.screening.api import MAX_BATCH_ROWS, Request, ScreeningRuntime
from socialcredit.screening.names import name_hash
from socialcredit.screening.parties import KeyInfo

NAMES_REMEMBERED = 500_000  # name hashes kept across a manifest's blocks (~60 MB at most)
BLOCK_BYTES = 4 << 20  # a block of manifest: ~100,000 rows, parsed and answered at once
FIELDS = ("subject_id", "name", "sector", "purpose", "reference")
DEFAULT_PURPOSE = "batch screening"
CSV_FIELDS = (
    "row",
    "subject_id",
    "decision",
    "sector",
    "reason_code",
    "until",
    "until_condition",
    "benefit",
    "screening_id",
    "error",
    "message",
)
_RIC_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_WEIGHTS = np.array(RIC_WEIGHTS, dtype=np.int64)
_POW10 = (10 ** np.arange(16, -1, -1, dtype=np.int64)).astype(np.int64)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_VARIANT = np.frombuffer(b"89ab", dtype=np.uint8)
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._")

Row = Request | RegistryError


# --------------------------------------------------------------------------- reading


def _blocks(body: IO[bytes], csv_quotes: bool) -> Iterator[bytes]:
    """The body in pieces of about :data:`BLOCK_BYTES` that end at a line end; for CSV also
    outside quotes (an even number of ``"`` before the cut: ``""`` escapes keep the parity)."""
    rest = b""
    while True:
        data = body.read(BLOCK_BYTES)
        if not data:
            if rest:
                yield rest
            return
        buf = rest + data
        cut = buf.rfind(b"\n")
        if csv_quotes:
            while cut >= 0 and buf.count(b'"', 0, cut) % 2:
                cut = buf.rfind(b"\n", 0, cut)
        if cut < 0:
            rest = buf
            continue
        rest = buf[cut + 1 :]
        yield buf[: cut + 1]


def _header(body: IO[bytes]) -> list[str] | None:
    """The CSV header's field names (as ``csv.DictReader`` reads them, stripped), or None."""
    line = body.readline()
    while line.count(b'"') % 2:
        more = body.readline()
        if not more:
            break
        line += more
    text = line.decode("utf-8", errors="replace")
    for names in csv.reader(io.StringIO(text, newline="")):
        return [f.strip().lstrip("\ufeff") for f in names]
    return None


RowOf = Callable[[dict[str, Any], str | None, int], Row]  # routes.py: a row's request
Format = Callable[[Any, str], str]  # routes.py: answers (dicts) as lines of the manifest's kind


class Columns:
    """A block's rows as string columns (None where the manifest has no such field)."""

    def __init__(self, n: int, cols: dict[str, pa.Array | None]) -> None:
        self.n = n
        self.cols = cols

    @classmethod
    def of(cls, table: pa.Table) -> Columns:
        cols: dict[str, pa.Array | None] = {}
        for f in FIELDS:
            if f in table.column_names:
                c = table.column(f)
                cols[f] = c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c
            else:
                cols[f] = None
        return cls(table.num_rows, cols)

    def get(self, f: str, i: int) -> Any:
        c = self.cols[f]
        return None if c is None else c[i].as_py()

    def row(self, i: int, sector: str | None, n: int, row_of: RowOf) -> Row:
        return row_of({f: self.get(f, i) for f in FIELDS}, sector, n)


def _csv_block(block: bytes, names: list[str]) -> Columns | list[Row] | None:
    """The block parsed by pyarrow, or None where it refuses (then parse it row by row)."""
    try:
        table = pacsv.read_csv(
            io.BytesIO(block),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f: pa.string() for f in names},
                include_columns=[f for f in FIELDS if f in names],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return Columns.of(table)


def _csv_rows(
    block: bytes, names: list[str], sector: str | None, start: int, row_of: RowOf
) -> list[Row]:
    text = io.TextIOWrapper(io.BytesIO(block), encoding="utf-8", errors="replace", newline="")
    reader = csv.DictReader(text, fieldnames=names)
    return [row_of(d, sector, n) for n, d in enumerate(reader, start=start)]


_JSON_SCHEMA = pa.schema([(f, pa.string()) for f in FIELDS])


def _ndjson_block(block: bytes) -> Columns | None:
    if not block.strip():
        return Columns(0, dict.fromkeys(FIELDS))
    try:
        table = pajson.read_json(
            io.BytesIO(block),
            read_options=pajson.ReadOptions(use_threads=False, block_size=len(block) + 1),
            parse_options=pajson.ParseOptions(
                explicit_schema=_JSON_SCHEMA, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    # pyarrow skips blank lines as the row-by-row reader does; a line with anything else
    # that is not an object was refused above.
    return Columns.of(table)


def _ndjson_rows(block: bytes, sector: str | None, start: int, row_of: RowOf) -> list[Row]:
    out: list[Row] = []
    n = start - 1
    text = io.TextIOWrapper(io.BytesIO(block), encoding="utf-8", errors="replace", newline="")
    for line in text:
        if not line.strip():
            continue
        n += 1
        try:
            d = json.loads(line)
        except ValueError:
            out.append(InvalidInput.one("row", "not a JSON object", line[:100], n))
            continue
        out.append(row_of(d if isinstance(d, dict) else {}, sector, n))
    return out


def parsed_blocks(
    body: IO[bytes], kind: str, sector: str | None, row_of: RowOf
) -> Iterator[Columns | list[Row]]:
    """The manifest block by block: columns where pyarrow read the block, else rows."""
    if kind == "csv":
        names = _header(body)
        if names is None:
            return
        # Duplicate names: csv.DictReader keeps the last; pyarrow would refuse, so read all
        # of it row by row.
        plain = len(set(names)) == len(names)
        start = 1
        for block in _blocks(body, csv_quotes=True):
            got = _csv_block(block, names) if plain else None
            rows = _csv_rows(block, names, sector, start, row_of) if got is None else got
            start += rows.n if isinstance(rows, Columns) else len(rows)
            yield rows
        return
    start = 1
    for block in _blocks(body, csv_quotes=False):
        got = _ndjson_block(block)
        rows = _ndjson_rows(block, sector, start, row_of) if got is None else got
        start += rows.n if isinstance(rows, Columns) else len(rows)
        yield rows


# --------------------------------------------------------------------------- checking


def _fixed(arr: pa.Array, width: int) -> npt.NDArray[np.uint8]:
    """An array of strings all ``width`` bytes long as an (n, width) byte matrix."""
    arr = pa.concat_arrays([arr]) if arr.offset else arr
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1)
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].reshape(len(arr), width)


def resident_keys(ids: pa.Array) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.uint64]]:
    """Which IDs are 18-character resident IDs, upper case, with the right check character
    (what ``fast_id`` accepts for a person without stripping or folding anything), and
    their 64-bit keys (the 17 digits; 0 elsewhere)."""
    n = len(ids)
    ok = np.zeros(n, dtype=np.bool_)
    keys = np.zeros(n, dtype=np.uint64)
    length = pc.fill_null(pc.binary_length(ids), 0).to_numpy(zero_copy_only=False)
    cand = np.flatnonzero(length == 18)
    if not len(cand):
        return ok, keys
    m = _fixed(ids.take(pa.array(cand)), 18)
    d = m[:, :17].astype(np.int64) - 48
    good = ((d >= 0) & (d <= 9)).all(axis=1)
    check = _RIC_CHECK[(d @ _WEIGHTS) % 11]
    good &= m[:, 17] == check
    ok[cand] = good
    keys[cand[good]] = (d[good] @ _POW10).astype(np.uint64)
    return ok, keys


def name_hashes(names: pa.Array, seen: dict[str, int]) -> npt.NDArray[np.uint32]:
    """The name hash of each name, hashed once per distinct name; ``seen`` remembers them
    across blocks (names repeat: a manifest of a million rows has far fewer names)."""
    enc = pc.dictionary_encode(names)
    words = enc.dictionary.to_pylist()
    if len(seen) > NAMES_REMEMBERED:
        seen.clear()
    get = seen.get
    hashes = [get(w) for w in words]
    for i, h in enumerate(hashes):
        if h is None:
            hashes[i] = seen[words[i]] = name_hash(words[i])
    table: npt.NDArray[np.uint32] = np.array(hashes, dtype=np.uint32)
    out: npt.NDArray[np.uint32] = table[enc.indices.to_numpy(zero_copy_only=False)]
    return out


def screening_ids(n: int) -> pa.Array:
    """``n`` screening ids in the layout of ``ScreeningIds`` (UUID version 7, 48 bits of
    Unix milliseconds, 74 random bits from the OS), made as one byte matrix."""
    ms = (time.time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF
    h = np.frombuffer(f"{ms:012x}".encode(), dtype=np.uint8)
    r = np.frombuffer(os.urandom(10 * n), dtype=np.uint8).reshape(n, 10)
    rh = np.empty((n, 20), dtype=np.uint8)
    rh[:, 0::2] = _HEX[r >> 4]
    rh[:, 1::2] = _HEX[r & 15]
    out = np.empty((n, 36), dtype=np.uint8)
    out[:, 0:8] = h[:8]
    out[:, 8] = ord("-")
    out[:, 9:13] = h[8:12]
    out[:, 13] = ord("-")
    out[:, 14] = ord("7")
    out[:, 15:18] = rh[:, 1:4]
    out[:, 18] = ord("-")
    out[:, 19] = _VARIANT[(rh[:, 4] - np.where(rh[:, 4] >= ord("a"), 87, 48)) & 3]
    out[:, 20:23] = rh[:, 5:8]
    out[:, 23] = ord("-")
    out[:, 24:36] = rh[:, 8:20]
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out.tobytes()))


def _column(c: pa.Array | None, n: int, default: str | None) -> pa.Array:
    """A field as a string column with ``default`` where it is missing, null or empty."""
    if c is None:
        return pa.array([default] * n, pa.string()) if n else pa.array([], pa.string())
    if default is None:
        return c
    empty = pc.or_kleene(pc.is_null(c), pc.equal(pc.binary_length(c), 0))
    return pc.if_else(pc.fill_null(empty, True), default, c)


def _repeat_or_list(c: pa.Array) -> Any:
    """A column's values for the log rows: one object repeated when all rows agree."""
    if len(c) and c.null_count == 0 and pc.count_distinct(c).as_py() == 1:
        return repeat(c[0].as_py())
    if len(c) and c.null_count == len(c):
        return repeat(None)
    return c.to_pylist()


class Answers:
    """Checks blocks of a manifest for one relying party and formats their answers."""

    def __init__(
        self,
        rt: ScreeningRuntime,
        who: KeyInfo,
        kind: str,
        sector: str | None,
        row_of: RowOf,
        fmt: Format,
    ) -> None:
        """``row_of`` and ``fmt`` are the row-by-row path's: every row not answered here is
        read and written by them."""
        self.rt = rt
        self.who = who
        self.kind = kind
        self.csv = kind == "csv"
        self.sector = sector
        self.row_of = row_of
        self.fmt = fmt
        self._names: dict[str, int] = {}

    def _bit(self, sector: str) -> int:
        """The sector's bit if the party serves it (and it needs no quoting), else -1: the
        row-by-row path then refuses, logs and answers it."""
        if sector not in self.who.party.sectors or not set(sector) <= _SAFE:
            return -1
        try:
            return self.rt.screener.sector_bit(sector)
        except InvalidInput:
            return -1

    def header(self) -> bytes:
        return (",".join(CSV_FIELDS) + "\n").encode() if self.csv else b""

    def rows(self, rows: list[Row], numbers: list[int]) -> list[str]:
        """Rows through the row-by-row path, each answer's line (numbered as in the file)."""
        out = []
        for n, d in zip(numbers, self.rt.screen_rows(self.who, rows, start=1), strict=True):
            d["row"] = n
            out.append(self.fmt([d], self.kind))
        return out

    def block(self, got: Columns | list[Row], start: int) -> bytes:
        """Answers to one block whose first row is row ``start`` of the manifest."""
        if isinstance(got, list):
            return "".join(self.rows(got, list(range(start, start + len(got))))).encode()
        n = got.n
        if not n:
            return b""
        c = got.cols
        sid = c["subject_id"]
        name = c["name"]
        sector = _column(c["sector"], n, self.sector)
        plain = np.zeros(n, dtype=np.bool_)
        keys = np.zeros(n, dtype=np.uint64)
        if sid is not None and name is not None:
            plain, keys = resident_keys(sid)
            plain &= pc.fill_null(pc.greater(pc.binary_length(name), 0), False).to_numpy(
                zero_copy_only=False
            )
        bits = np.full(n, -1, dtype=np.int64)
        if plain.any():
            enc = pc.dictionary_encode(sector)
            words = enc.dictionary.to_pylist()
            codes = pc.fill_null(enc.indices, len(words)).to_numpy(zero_copy_only=False)
            bit_of = np.array([self._bit(w) for w in words] + [-1], dtype=np.int64)
            bits = bit_of[codes]
            plain &= bits >= 0
        rows = np.flatnonzero(plain)
        s = self.rt.screener
        day = self.rt.reg.today()
        if len(rows):
            assert name is not None
            stored = s.names.hashes(keys[rows])
            given = name_hashes(name.take(pa.array(rows)), self._names)
            ok = stored == given
            plain[rows[~ok]] = False
            rows = rows[ok]
        if len(rows):
            k, b = keys[rows], bits[rows]
            deny = s.deny.current.check_batch(k, b, day).deny
            ben = s.benefits.current.check_batch(k, b, day).deny
            special = deny | ben
            plain[rows[special]] = False
            rows = rows[~special]
        lines = self._plain(got, rows, sector, start) if len(rows) else None
        slow = np.flatnonzero(~plain)
        if not len(slow):
            assert lines is not None
            return _bytes(lines)
        extra = self.rows(
            [got.row(int(i), self.sector, start + int(i), self.row_of) for i in slow],
            (slow + start).tolist(),
        )
        if lines is None:
            return "".join(extra).encode()
        order = np.empty(n, dtype=np.int64)
        order[rows] = np.arange(len(rows))
        order[slow] = len(rows) + np.arange(len(slow))
        both = pa.concat_arrays([lines, pa.array(extra, pa.string())]).take(pa.array(order))
        return _bytes(both)

    def _plain(
        self, got: Columns, rows: npt.NDArray[np.int64], sector: pa.Array, start: int
    ) -> pa.Array:
        """Allow answers for the plain rows ``rows``: logged, and formatted as lines."""
        c = got.cols
        n = len(rows)
        take = pa.array(rows)
        assert c["subject_id"] is not None
        sid = c["subject_id"].take(take)
        sec = sector.take(take)
        ids = screening_ids(n)
        purpose = _column(c["purpose"], got.n, DEFAULT_PURPOSE).take(take)
        ref = c["reference"].take(take) if c["reference"] is not None else None
        who, now, version = self.who, time.time(), self.rt.screener.pack.version
        self.rt.writer.screenings(
            zip(  # in the order of SCREENING_COLUMNS
                ids.to_pylist(),
                repeat(now),
                repeat(who.party.code),
                sid.to_pylist(),
                _repeat_or_list(sec),
                _repeat_or_list(purpose),
                repeat(None) if ref is None else _repeat_or_list(ref),
                repeat("allow"),
                repeat(None),
                repeat(version),
                strict=False,
            )
        )
        number = pc.cast(pa.array(rows + start), pa.string())
        if self.csv:
            parts: list[Any] = [number, sid, "allow", sec, ",,,", ids, ",\n"]
            return pc.binary_join_element_wise(*parts, ",")
        parts = [
            '{"row": ',
            number,
            ', "subject_id": "',
            sid,
            '", "screening_id": "',
            ids,
            '", "decision": "allow", "sector": "',
            sec,
            '", "reason_code": null, "until": null, "until_condition": null, "benefit": null}\n',
        ]
        return pc.binary_join_element_wise(*parts, "")

    def stream(self, body: IO[bytes]) -> Iterator[bytes]:
        """The answers to a whole manifest, a block at a time (at most MAX_BATCH_ROWS)."""
        yield self.header()
        kind = "csv" if self.csv else "ndjson"
        start = 1
        for got in parsed_blocks(body, kind, self.sector, self.row_of):
            n = got.n if isinstance(got, Columns) else len(got)
            over = start + n - 1 - MAX_BATCH_ROWS
            if over > 0:
                keep = n - over
                got = got[:keep] if isinstance(got, list) else _head(got, keep)
            yield self.block(got, start)
            start += n
            if over > 0:
                yield self.fmt([_too_long()], self.kind).encode()
                return


def closing(stream: Iterator[bytes], body: IO[bytes]) -> Iterator[bytes]:
    """``stream``, then the spooled body closed (also when the client goes away)."""
    try:
        yield from stream
    finally:
        body.close()


def _head(got: Columns, k: int) -> Columns:
    return Columns(k, {f: None if c is None else c.slice(0, k) for f, c in got.cols.items()})


def _too_long() -> dict[str, Any]:
    return {
        "row": MAX_BATCH_ROWS + 1,
        "error": "invalid_input",
        "message": "a manifest has at most 1,000,000 rows",
    }


def _bytes(lines: pa.Array) -> bytes:
    """The concatenated values of a string array, without a Python string per line."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    if lines.offset or lines.null_count:
        return "".join(lines.to_pylist()).encode()
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1)
    buf = lines.buffers()[2]
    return buf[int(offsets[0]) : int(offsets[-1])].to_pybytes()  # type: ignore[no-any-return]
