"""A screening manifest, read row by row: CSV, NDJSON or a JSON array.

No row can break the others, or the answer already streaming: a row longer than
``MAX_ROW_CHARS`` or nested deeper than ``MAX_DEPTH`` is refused before it is parsed (a CSV
field over 131,072 characters raised ``csv.Error`` and a line nested 100,000 deep a
``RecursionError`` in the middle of a 200 response), and becomes that row's error. A JSON
array is parsed element by element from a sliding window of the body, so a 200 MB array
holds about one window in memory (``json.load`` of the whole held 1.98 GB).

CSV rows are one physical line each (a manifest's fields hold IDs, names and codes: no
quoted newlines).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from socialcredit.errors import InvalidInput, RegistryError
from socialcredit.runtime.jsonscan import nests_deeper

MAX_ROW_CHARS = 16_384  # an ID, a name, a sector, a purpose and a reference: far less
MAX_DEPTH = 16  # a row is a flat object
CHUNK = 1 << 20

Row = Any  # what the caller's ``make_row`` returns
MakeRow = Callable[[dict[str, Any], int], Any]


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    return nests_deeper(text, limit)


def _bad(n: int, reason: str, value: str) -> RegistryError:
    return InvalidInput.one("row", reason, value[:100], n)


def _parse(text: str, n: int, make_row: MakeRow) -> Row:
    if len(text) > MAX_ROW_CHARS:
        return _bad(n, f"longer than {MAX_ROW_CHARS} characters", text)
    if too_deep(text):
        return _bad(n, f"nested deeper than {MAX_DEPTH}", text)
    try:
        d = json.loads(text)
    except (ValueError, RecursionError):
        return _bad(n, "not a JSON object", text)
    return make_row(d if isinstance(d, dict) else {}, n)


def ndjson_rows(body: IO[bytes], make_row: MakeRow, start: int = 1) -> Iterator[Row]:
    """The rows of NDJSON ``body``, numbered from ``start`` (a later block of a manifest)."""
    text = io.TextIOWrapper(body, encoding="utf-8", errors="replace", newline="")
    n = start - 1
    for line in text:
        if not line.strip():
            continue
        n += 1
        yield _parse(line, n, make_row)


def csv_header(line: str) -> list[str]:
    """A CSV header line's field names, stripped (and the byte order mark dropped)."""
    return [f.strip().lstrip("\ufeff") for f in next(csv.reader([line]), [])]


def csv_rows(body: IO[bytes], make_row: MakeRow) -> Iterator[Row]:
    text = io.TextIOWrapper(body, encoding="utf-8", errors="replace", newline="")
    for line in text:
        if len(line) > MAX_ROW_CHARS:
            yield _bad(0, "the header line is too long", line)
            return
        yield from csv_body_rows(text, csv_header(line), make_row)
        return


def csv_body_rows(
    lines: Iterable[str], header: list[str], make_row: MakeRow, start: int = 1
) -> Iterator[Row]:
    """The rows of a CSV manifest's ``lines`` after its header, numbered from ``start``."""
    n = start - 1
    for line in lines:
        if not line.strip():
            continue
        n += 1
        if len(line) > MAX_ROW_CHARS:
            yield _bad(n, f"longer than {MAX_ROW_CHARS} characters", line)
            continue
        try:
            fields = next(csv.reader([line]), [])
        except csv.Error as e:
            yield _bad(n, f"not a CSV row: {e}", line)
            continue
        yield make_row(dict(zip(header, fields, strict=False)), n)


def csv_block_rows(block: bytes, header: list[str], make_row: MakeRow, start: int) -> list[Row]:
    """The rows of one block of a CSV manifest's body (whole lines), read row by row."""
    text = io.TextIOWrapper(io.BytesIO(block), encoding="utf-8", errors="replace", newline="")
    return list(csv_body_rows(text, header, make_row, start))


def ndjson_block_rows(block: bytes, make_row: MakeRow, start: int) -> list[Row]:
    return list(ndjson_rows(io.BytesIO(block), make_row, start))


class _Window:
    """A sliding window over a text stream: ``buf[pos:]`` is what is not consumed yet."""

    def __init__(self, body: IO[bytes]) -> None:
        self.text = io.TextIOWrapper(body, encoding="utf-8", errors="replace")
        self.buf, self.pos, self.eof = "", 0, False

    def fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.text.read(CHUNK)
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        self.eof = not chunk
        return bool(chunk)

    def skip_space(self, also: str = "") -> str | None:
        """The next character that is not space (nor in ``also``), or None at the end."""
        while True:
            b, p = self.buf, self.pos
            while p < len(b) and (b[p].isspace() or b[p] in also):
                p += 1
            self.pos = p
            if p < len(b):
                return b[p]
            if not self.fill():
                return None

    def skip_value(self) -> str:
        """Step over one JSON value without parsing it (scanning brackets and strings);
        returns its first 100 characters."""
        depth, in_str, esc, start = 0, False, False, self.buf[self.pos : self.pos + 100]
        while True:
            b, p = self.buf, self.pos
            while p < len(b):
                c = b[p]
                if in_str:
                    if esc:
                        esc = False
                    elif c == "\\":
                        esc = True
                    elif c == '"':
                        in_str = False
                elif c == '"':
                    in_str = True
                elif c in "[{":
                    depth += 1
                elif c in "]}":
                    if depth == 0:  # the array's own end
                        self.pos = p
                        return start
                    depth -= 1
                elif c == "," and depth == 0:
                    self.pos = p
                    return start
                p += 1
            self.pos = p
            if not self.fill():
                return start


def json_array_rows(body: IO[bytes], make_row: MakeRow) -> Iterator[Row]:
    w = _Window(body)
    dec = json.JSONDecoder()
    if w.skip_space() != "[":
        yield InvalidInput.one("body", "a JSON array of rows, or use NDJSON / CSV")
        return
    w.pos += 1
    n = 0
    while True:
        c = w.skip_space(",")
        if c is None:
            yield _bad(n + 1, "the array is not closed", "")
            return
        if c == "]":
            return
        n += 1
        while True:  # parse the element, widening the window if it is cut off
            start = w.pos
            try:
                value, end = dec.raw_decode(w.buf, start)
            except RecursionError:
                yield _bad(n, f"nested deeper than {MAX_DEPTH}", w.skip_value())
                break
            except ValueError:
                if len(w.buf) - start <= MAX_ROW_CHARS and w.fill():
                    continue
                yield _bad(n, "not a JSON object (or too long)", w.skip_value())
                break
            if end == len(w.buf) and w.fill():
                continue  # a number may go on in the next chunk
            w.pos = end
            text = w.buf[start:end]
            if len(text) > MAX_ROW_CHARS or too_deep(text):
                yield _bad(n, "too long or nested too deep", text)
            else:
                yield make_row(value if isinstance(value, dict) else {}, n)
            break
