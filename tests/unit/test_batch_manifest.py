"""Findings 4 and 8 of issue 14: a screening manifest is read row by row, and no one row can
break the answer for the others.

- a CSV field over 131,072 characters, or an NDJSON / JSON-array row nested 100,000 deep,
  becomes an error for that row (it aborted the streamed answer after a 200);
- a JSON array is streamed: the first rows come out after reading a bounded prefix of the
  body, never the whole (a 200 MB array held 1.98 GB).
"""

from __future__ import annotations

import io
import json

from socialcredit.errors import RegistryError
from socialcredit.screening.api import Request
from socialcredit.screening.routes import _rows

GOOD = {"subject_id": "110108198005121230", "name": "王建国", "sector": "flight"}


def _kinds(rows: list[Request | RegistryError]) -> list[str]:
    return ["ok" if isinstance(r, Request) else r.code for r in rows]


def test_a_huge_csv_field_is_one_bad_row() -> None:
    body = (
        "subject_id,name,sector\n"
        f"{GOOD['subject_id']},王建国,flight\n"
        f"{GOOD['subject_id']},{'x' * 200_000},flight\n"
        f"{GOOD['subject_id']},王建国,flight\n"
    ).encode()
    assert _kinds(list(_rows(io.BytesIO(body), "csv", None))) == ["ok", "invalid_input", "ok"]


def test_a_deeply_nested_ndjson_line_is_one_bad_row() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    body = "\n".join([json.dumps(GOOD), deep, json.dumps(GOOD)]).encode()
    assert _kinds(list(_rows(io.BytesIO(body), "ndjson", None))) == ["ok", "invalid_input", "ok"]


def test_a_deeply_nested_array_item_is_one_bad_row() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    body = f"[{json.dumps(GOOD)}, {deep}, {json.dumps(GOOD)}]".encode()
    assert _kinds(list(_rows(io.BytesIO(body), "json", None))) == ["ok", "invalid_input", "ok"]


class Counting(io.BytesIO):
    read_bytes = 0

    def read(self, n: int | None = -1) -> bytes:
        b = super().read(n)
        self.read_bytes += len(b)
        return b

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = super().readinto(b)
        self.read_bytes += n
        return n


def test_a_json_array_is_streamed() -> None:
    item = json.dumps(GOOD, ensure_ascii=False)
    body = Counting(("[" + ",".join([item] * 200_000) + "]").encode())  # ~16 MB
    rows = _rows(body, "json", None)
    first = next(rows)
    assert isinstance(first, Request) and first.subject_id == GOOD["subject_id"]
    assert body.read_bytes < 4 << 20, body.read_bytes
    assert sum(1 for _ in rows) == 200_000 - 1


def test_a_row_without_a_name_is_an_error_naming_its_subject() -> None:
    from socialcredit.screening.batch import error_row as _error_row

    body = b'{"subject_id": "110108198005121230", "sector": "flight"}\n'
    (row,) = _rows(io.BytesIO(body), "ndjson", None)
    assert isinstance(row, RegistryError)
    assert _error_row(1, row, row)["subject_id"] == "110108198005121230"
