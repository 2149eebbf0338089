"""Ingest record files from authorities (``docs/ingest-format.md``).

One batch is one transaction: every good line goes in, every bad line comes back as a
:class:`~socialcredit.errors.Problem` (line, field, reason, value), and with
``all_or_nothing=True`` one bad line rejects the batch (:class:`BatchRejected`, nothing
written). A batch is identified by the SHA-256 of its content, so re-sending a file is a
no-op, and a crash leaves a batch wholly in or wholly out.

Built for speed (>= 100,000 records/s into SQLite): files are read with pyarrow, every check
runs over whole columns with pyarrow/NumPy (identifier check characters, birth dates, region
codes, minors, categories, dates), and only the rows that fail fall back to
:func:`~socialcredit.domain.identity.parse_subject_id` for an exact diagnosis. Python loops
run over events (usually few), duplicates and conflicts only. The store receives whole
columns and writes them set-wise.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from stdnum import numdb

from socialcredit.domain.identity import (
    RIC_CHECK,
    RIC_WEIGHTS,
    USCC_ALPHABET,
    SubjectKind,
    parse_subject_id,
)
from socialcredit.domain.records import WITHDRAWAL_REASONS, EventType, Record
from socialcredit.domain.rules import RulePack
from socialcredit.errors import BatchRejected, InvalidIdentifier, InvalidInput, Problem
from socialcredit.store.codec import event_fingerprint, record_to_json
from socialcredit.store.ports import EventColumns, RecordColumns, SubjectColumns, UnitOfWork

FIELDS = (
    "event",
    "authority",
    "case_number",
    "event_date",
    "category",
    "subject_id",
    "subject_name",
    "decision_date",
    "legal_basis",
    "amount_owed",
    "extension_years",
    "evidence_ref",
    "legal_representative_id",
    "legal_representative_name",
    "reason",
)
RECORD_FIELDS = ("category", "subject_id", "subject_name", "decision_date", "legal_basis")
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
FORMATS |= {".parquet": "parquet", ".pq": "parquet"}
EVENTS = tuple(e.value for e in EventType)
WRITE_CHUNK = 250_000
AMOUNT_RE = r"^[0-9]{1,18}(\.[0-9]{1,2})?$"
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

Progress = Callable[[int], None]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class IngestReport:
    """What happened to a batch. ``rejected`` lists every problem, by line."""

    batch_id: int | None
    source: str
    sha256: str
    lines: int
    accepted: int
    duplicates: int
    rejected: tuple[Problem, ...]
    already_ingested: bool = False

    @property
    def rejected_lines(self) -> int:
        return len({p.line for p in self.rejected})


@dataclass
class _Parsed:
    table: pa.Table  # every column a string column named after a field
    lines: IntArray  # the line number of each row
    problems: list[Problem]  # lines that could not be parsed at all
    total_lines: int


# --------------------------------------------------------------------------- reading


def _as_strings(table: pa.Table) -> pa.Table:
    cols = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if not pa.types.is_string(col.type):
            col = col.cast(pa.string())
        cols.append(col.combine_chunks())
    return pa.table(cols, names=table.column_names)


def _unknown_columns(table: pa.Table, lines: IntArray, header_line: int | None) -> None:
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


def _read_jsonl_slow(data: bytes) -> _Parsed:
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
        except json.JSONDecodeError as e:
            text = raw.decode("utf-8", "replace")[:80]
            problems.append(
                Problem("line", f"not valid JSON: {e.msg} at column {e.colno}", text, no)
            )
            continue
        if not isinstance(obj, dict):
            problems.append(Problem("line", "must be a JSON object", raw.decode()[:80], no))
            continue
        rows.append({k: _json_value(v) for k, v in obj.items()})
        lines.append(no)
    return _Parsed(_rows_to_table(rows), np.array(lines, dtype=np.int64), problems, total)


def _read_jsonl(data: bytes) -> _Parsed:
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
    return _Parsed(_as_strings(table), np.arange(1, n + 1, dtype=np.int64), [], n)


def _read_csv_slow(data: bytes) -> _Parsed:
    problems: list[Problem] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        problem = Problem("file", "is not valid UTF-8", None, line)
        raise BatchRejected("not valid UTF-8", (problem,)) from None
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
        if len(fields) != len(header):
            reason = f"has {len(fields)} fields, the header has {len(header)}"
            problems.append(Problem("line", reason, ",".join(fields)[:80], start))
            continue
        rows.append({h: (v if v != "" else None) for h, v in zip(header, fields, strict=True)})
        lines.append(start)
    table = (
        _rows_to_table(rows) if rows else pa.table({h: pa.array([], pa.string()) for h in header})
    )
    return _Parsed(table, np.array(lines, dtype=np.int64), problems, total)


def _read_csv(data: bytes) -> _Parsed:
    first = data.split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip("\r")
    header = next(csv.reader([first]), [])
    _unknown_columns(
        pa.table({h: pa.array([], pa.string()) for h in header}), np.zeros(0, np.int64), 1
    )
    if b'"' in data or b"\r" in data or b"\n\n" in data:
        return _read_csv_slow(data)
    skipped: list[object] = []

    def on_invalid(row: object) -> str:
        skipped.append(row)
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
    return _Parsed(_as_strings(table), np.arange(2, n + 2, dtype=np.int64), [], n)


def _read_parquet(data: bytes) -> _Parsed:
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as e:
        raise BatchRejected(
            "not a readable Parquet file",
            (Problem("file", f"is not a readable Parquet file: {e}", None, None),),
        ) from None
    try:
        table = _as_strings(table)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise BatchRejected(
            "a column cannot be read as text", (Problem("file", str(e), None, None),)
        ) from None
    n = table.num_rows
    return _Parsed(table, np.arange(1, n + 1, dtype=np.int64), [], n)


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


def read_records(data: bytes, fmt: str) -> _Parsed:
    parsed = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}[fmt](data)
    _unknown_columns(parsed.table, parsed.lines, 1 if fmt == "csv" else None)
    return parsed


# --------------------------------------------------------------------------- identifiers

_RIC_W = np.array(RIC_WEIGHTS, dtype=np.int64)
_RIC_CHECK = np.frombuffer(RIC_CHECK.encode(), dtype=np.uint8)
_USCC_VAL = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(USCC_ALPHABET):
    _USCC_VAL[ord(_c)] = _i
_USCC_W = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_USCC_CHARS = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
_DIGIT_POW = 10 ** np.arange(5, -1, -1, dtype=np.int64)


@lru_cache(maxsize=8192)
def _region_spans(code: str) -> tuple[tuple[int, int], ...]:
    """Years in which a GB/T 2260 county code was in use (empty: not a county code).

    The same reading of python-stdnum's database as ``identity._region_known``.
    """
    info = {k: v for _p, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    county = info.get("county")
    if not county:
        return ()
    spans = []
    for name in county.split(","):
        if not name.startswith("["):
            return ((0, 9999),)
        start, end = name[1:].split("]")[0].split("-")
        spans.append((int(start) if start else 0, int(end) if end else 9999))
    return tuple(spans)


def _region_ok(region: IntArray, year: IntArray | None) -> BoolArray:
    uniq, inv = np.unique(region, return_inverse=True)
    spans = [_region_spans(f"{int(u):06d}") for u in uniq]
    width = max((len(s) for s in spans), default=1) or 1
    lo = np.ones((len(uniq), width), dtype=np.int64)
    hi = np.zeros((len(uniq), width), dtype=np.int64)
    for k, s in enumerate(spans):
        for j, (a, b) in enumerate(s):
            lo[k, j], hi[k, j] = a, b
    if year is None:
        known: BoolArray = np.asarray((hi >= lo).any(axis=1), dtype=np.bool_)
        return np.asarray(known[inv], dtype=np.bool_)
    y = year[:, None]
    return np.asarray(((y >= lo[inv]) & (y <= hi[inv])).any(axis=1), dtype=np.bool_)


def _fixed18(arr: pa.Array) -> npt.NDArray[np.uint8]:
    """An (n, 18) byte matrix of a string array whose valid values all have 18 bytes."""
    n = len(arr)
    if n == 0:
        return np.zeros((0, 18), dtype=np.uint8)
    filled = pc.if_else(pc.equal(pc.binary_length(arr), 18), arr, "0" * 18)
    filled = pc.fill_null(filled, "0" * 18)
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    offsets = np.frombuffer(
        filled.buffers()[1], dtype=np.int32, count=n + 1, offset=filled.offset * 4
    )
    data = np.frombuffer(filled.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[0] + 18 * n].reshape(n, 18)


@dataclass
class _Ids:
    value: pa.Array  # normalised (upper case, no spaces or hyphens)
    ok: BoolArray
    person: BoolArray
    birth: IntArray  # yyyymmdd for persons, 0 otherwise
    region: list[str] | None = None


def _check_ids(raw: pa.Array, today: dt.date) -> _Ids:
    """Validate a column of identifiers at once; the caller diagnoses the rows not ``ok``."""
    v = pc.utf8_upper(
        pc.replace_substring(pc.replace_substring(pc.utf8_trim_whitespace(raw), " ", ""), "-", "")
    )
    n = len(v)
    present = v.is_valid().to_numpy(zero_copy_only=False)
    len18 = present & (pc.fill_null(pc.binary_length(v), 0).to_numpy(zero_copy_only=False) == 18)
    m = _fixed18(v).astype(np.int64)
    digits = m[:, :17] - 48
    all_digits = ((digits >= 0) & (digits <= 9)).all(axis=1)
    last = m[:, 17]
    person = len18 & all_digits & (((last >= 48) & (last <= 57)) | (last == 88))
    ric_ok = _RIC_CHECK[(digits * _RIC_W).sum(axis=1) % 11] == last
    y = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
    mo = digits[:, 10] * 10 + digits[:, 11]
    d = digits[:, 12] * 10 + digits[:, 13]
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    mdays = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    dim = mdays[np.clip(mo, 0, 12)] + ((mo == 2) & leap)
    birth = y * 10000 + mo * 100 + d
    limit = min(today, dt.date.today())
    date_ok = (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= dim) & (y >= 1880)
    date_ok &= birth <= limit.year * 10000 + limit.month * 100 + limit.day
    region = (digits[:, :6] * _DIGIT_POW).sum(axis=1)
    ok = np.zeros(n, dtype=np.bool_)
    cand = np.flatnonzero(person & ric_ok & date_ok)
    if len(cand):
        ok[cand] = _region_ok(region[cand], y[cand])
    ok_person = ok.copy()
    # Credit codes (GB 32100 check character); some are all digits, so every identifier
    # that is not a valid resident ID is tried.
    ent = len18 & ~ok_person
    vals = _USCC_VAL[m]
    ent &= (vals >= 0).all(axis=1)
    check = _USCC_CHARS[(31 - (vals[:, :17] * _USCC_W).sum(axis=1) % 31) % 31]
    ent &= check == m[:, 17]
    ent &= ((m[:, 2:8] >= 48) & (m[:, 2:8] <= 57)).all(axis=1)
    ecand = np.flatnonzero(ent)
    if len(ecand):
        ereg = ((m[ecand, 2:8] - 48) * _DIGIT_POW).sum(axis=1)
        ok[ecand] = _region_ok(ereg, None)
    return _Ids(v, ok, ok_person, np.where(ok_person, birth, 0))


# --------------------------------------------------------------------------- validation


class _Checker:
    """Collects problems per row and marks the rows that are bad."""

    def __init__(self, lines: IntArray) -> None:
        self.lines = lines
        self.bad = np.zeros(len(lines), dtype=np.bool_)
        self.problems: list[Problem] = []

    def flag(
        self,
        mask: BoolArray,
        field: str,
        reason: str | Callable[[int], str],
        values: pa.Array | None = None,
    ) -> None:
        for i in np.flatnonzero(mask):
            value = None if values is None else values[int(i)].as_py()
            why = reason if isinstance(reason, str) else reason(int(i))
            self.problems.append(Problem(field, why, value, int(self.lines[i])))
        self.bad |= mask

    def add(self, i: int, field: str, reason: str, value: str | None = None) -> None:
        self.problems.append(Problem(field, reason, value, int(self.lines[i])))
        self.bad[i] = True


def _np(arr: pa.Array | pa.ChunkedArray) -> npt.NDArray[Any]:
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def _missing(arr: pa.Array) -> BoolArray:
    return np.asarray(_np(pc.fill_null(pc.equal(pc.utf8_length(arr), 0), True)), dtype=np.bool_)


def _dates(arr: pa.Array, chk: _Checker, field: str, today: dt.date) -> IntArray:
    """Days since 1970 for valid ISO dates (-1 where missing or bad; bad ones flagged)."""
    present = ~_missing(arr)
    shaped = _np(pc.fill_null(pc.match_substring_regex(arr, DATE_RE), False))
    parsed = pc.strptime(arr, format="%Y-%m-%d", unit="s", error_is_null=True)
    as_date = pc.cast(parsed, pa.date32())
    round_trip = _np(pc.fill_null(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), arr), False))
    good = shaped & round_trip
    chk.flag(present & ~good, field, "must be a real date written YYYY-MM-DD", arr)
    days = np.where(good, _np(pc.fill_null(pc.cast(as_date, pa.int32()), -1)), -1).astype(np.int64)
    limit = (today - dt.date(1970, 1, 1)).days
    chk.flag(good & (days > limit), field, f"is in the future (today is {today.isoformat()})", arr)
    return days


def _diagnose(raw: str, field: str) -> str | None:
    try:
        parse_subject_id(raw, field)
    except InvalidIdentifier as e:
        return e.problems[0].reason if e.problems else e.message
    return None


@dataclass
class _Validated:
    table: pa.Table
    event: npt.NDArray[Any]
    ids: _Ids
    rep: _Ids
    ext: IntArray
    decision: IntArray
    event_day: IntArray
    chk: _Checker


def _validate(
    parsed: _Parsed, pack: RulePack, authorities: dict[str, frozenset[str]], today: dt.date
) -> _Validated:
    t = parsed.table
    n = t.num_rows
    chk = _Checker(parsed.lines)
    null = pa.nulls(n, pa.string())
    cols = {
        f: (pc.utf8_trim_whitespace(t.column(f).combine_chunks()) if f in t.column_names else null)
        for f in FIELDS
    }
    cols["event"] = pc.fill_null(pc.utf8_lower(cols["event"]), "listed")
    cols["event"] = pc.if_else(pc.equal(cols["event"], ""), "listed", cols["event"])
    event = _np(cols["event"])
    known_event = np.isin(event, EVENTS)
    chk.flag(~known_event, "event", f"must be one of {', '.join(EVENTS)}", cols["event"])
    is_listed = event == "listed"
    is_rec = is_listed | (event == "corrected")
    miss = {f: _missing(cols[f]) for f in FIELDS}
    chk.flag(miss["authority"], "authority", "is required")
    chk.flag(miss["case_number"], "case_number", "is required")
    for f in RECORD_FIELDS:
        chk.flag(is_rec & miss[f], f, "is required for listed and corrected lines")
    chk.flag(
        known_event & ~is_listed & miss["event_date"],
        "event_date",
        "is required for events other than listed",
    )
    decision = _dates(cols["decision_date"], chk, "decision_date", today)
    event_day = _dates(cols["event_date"], chk, "event_date", today)
    chk.flag(
        is_listed & (event_day >= 0) & (decision >= 0) & (event_day != decision),
        "event_date",
        "for a listed line the event date is the decision date",
        cols["event_date"],
    )
    event_day = np.where(is_listed, decision, event_day)

    auth = cols["authority"]
    known_auth = np.isin(_np(pc.fill_null(auth, "")), list(authorities))
    chk.flag(~miss["authority"] & ~known_auth, "authority", "is not a registered authority", auth)

    ids = _check_ids(cols["subject_id"], today)
    need_id = is_rec & ~miss["subject_id"]
    person = ids.person.copy()
    for i in np.flatnonzero(need_id & ~ids.ok):
        raw = cols["subject_id"][int(i)].as_py()
        why = _diagnose(raw, "subject_id")
        if why is None:  # valid after all (e.g. an all-digit credit code): trust the parser
            sid = parse_subject_id(raw)
            ids.ok[i] = True
            person[i] = sid.kind is SubjectKind.PERSON
            born = sid.birth_date
            ids.birth[i] = 0 if born is None else born.year * 10000 + born.month * 100 + born.day
        else:
            chk.add(int(i), "subject_id", why, raw)
    ids.person = person & ids.ok
    # Minors are never listed: under 18 on the decision date (yyyymmdd arithmetic).
    has_dec = need_id & ids.person & (decision >= 0)
    minor = has_dec & (_ymd(decision) - ids.birth < 180000)
    chk.flag(
        minor,
        "subject_id",
        "the subject was a minor on the decision date; minors are never listed",
        cols["subject_id"],
    )

    cat = cols["category"]
    cat_np = _np(pc.fill_null(cat, ""))
    known_cat = np.isin(cat_np, list(pack.categories))
    chk.flag(
        is_rec & ~miss["category"] & ~known_cat,
        "category",
        "is not a category of the rule pack",
        cat,
    )
    ok_pairs = {f"{a}\x1f{c}" for a, cats in authorities.items() for c in cats}
    pair = _np(pc.fill_null(pc.binary_join_element_wise(auth, cat, "\x1f"), ""))
    allowed = np.isin(pair, list(ok_pairs))
    chk.flag(
        is_rec & known_auth & known_cat & ~allowed,
        "category",
        lambda i: f"authority {auth[i].as_py()} may not submit this category",
        cat,
    )
    persons_ok = [c for c, v in pack.categories.items() if "person" in v.subject_kinds]
    ents_ok = [c for c, v in pack.categories.items() if "enterprise" in v.subject_kinds]
    kind_ok = np.where(ids.person, np.isin(cat_np, persons_ok), np.isin(cat_np, ents_ok))
    chk.flag(
        is_rec & known_cat & ids.ok & ~kind_ok,
        "category",
        lambda i: (
            f"this category does not apply to a {'person' if ids.person[i] else 'enterprise'}"
        ),
        cat,
    )

    ext_raw = cols["extension_years"]
    ext_shape = _np(pc.fill_null(pc.match_substring_regex(ext_raw, r"^[0-9]{1,2}$"), False))
    chk.flag(
        ~miss["extension_years"] & ~ext_shape,
        "extension_years",
        "must be a whole number of years",
        ext_raw,
    )
    ext = np.where(
        ext_shape, _np(pc.cast(pc.if_else(pa.array(ext_shape), ext_raw, "0"), pa.int64())), 0
    ).astype(np.int64)
    ext_max = (
        np.array(
            [
                pack.categories[c].term.extension_max_years if c in pack.categories else 0
                for c in _np(pc.fill_null(cat, ""))
            ],
            dtype=np.int64,
        )
        if (ext > 0).any()
        else np.zeros(n, np.int64)
    )
    chk.flag(
        is_rec & known_cat & (ext > ext_max),
        "extension_years",
        lambda i: f"at most {ext_max[i]} for this category",
        ext_raw,
    )

    amt = cols["amount_owed"]
    amt_ok = _np(pc.fill_null(pc.match_substring_regex(amt, AMOUNT_RE), False))
    negative = _np(pc.fill_null(pc.starts_with(amt, "-"), False))
    chk.flag(~miss["amount_owed"] & negative, "amount_owed", "must be >= 0", amt)
    chk.flag(
        ~miss["amount_owed"] & ~negative & ~amt_ok,
        "amount_owed",
        "must be a decimal amount in yuan, at most 2 decimal places",
        amt,
    )

    rep = _check_ids(cols["legal_representative_id"], today)
    has_rep = is_rec & ~miss["legal_representative_id"]
    for i in np.flatnonzero(has_rep & ~rep.person):
        raw = cols["legal_representative_id"][int(i)].as_py()
        why = _diagnose(raw, "legal_representative_id") or "must be a resident ID number"
        chk.add(int(i), "legal_representative_id", why, raw)
    chk.flag(
        has_rep & ids.ok & ids.person,
        "legal_representative_id",
        "only an enterprise has a legal representative",
        cols["legal_representative_id"],
    )

    is_wd = event == "withdrawn"
    reason = cols["reason"]
    reason_ok = np.isin(_np(pc.fill_null(reason, "")), list(WITHDRAWAL_REASONS))
    chk.flag(
        is_wd & ~reason_ok,
        "reason",
        f"a withdrawal needs one of {', '.join(sorted(WITHDRAWAL_REASONS))}",
        reason,
    )
    table = pa.table([cols[f] for f in FIELDS], names=list(FIELDS))
    table = table.set_column(FIELDS.index("subject_id"), "subject_id", ids.value)
    table = table.set_column(
        FIELDS.index("legal_representative_id"), "legal_representative_id", rep.value
    )
    return _Validated(table, event, ids, rep, ext, decision, event_day, chk)


def _ymd(days: IntArray) -> IntArray:
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return np.asarray(y * 10000 + m * 100 + day, dtype=np.int64)


# --------------------------------------------------------------------------- resolution


def _row_record(t: pa.Table, ids: _Ids, ext: IntArray, i: int) -> Record:
    def get(f: str) -> Any:
        return t.column(f)[i].as_py()

    amount = get("amount_owed")
    return Record(
        authority=get("authority"),
        case_number=get("case_number"),
        category=get("category"),
        subject_id=get("subject_id"),
        subject_name=get("subject_name"),
        decision_date=dt.date.fromisoformat(get("decision_date")),
        legal_basis=get("legal_basis"),
        amount_owed=None if amount in (None, "") else Decimal(amount),
        extension_years=int(ext[i]),
        evidence_ref=get("evidence_ref") or None,
        legal_representative_id=get("legal_representative_id") or None,
        legal_representative_name=get("legal_representative_name") or None,
    )


@dataclass
class _Plan:
    new_rows: IntArray  # rows that list a new record, ascending
    new_ids: IntArray
    event_rows: IntArray  # accepted rows (listings and other events), ascending
    event_ids: IntArray
    record_id_of_row: IntArray
    payload: dict[int, str]
    fingerprint: dict[int, str]
    duplicates: int


def _plan(uow: UnitOfWork, v: _Validated) -> _Plan:
    t, chk = v.table, v.chk
    n = t.num_rows
    rows = np.arange(n, dtype=np.int64)
    good = ~chk.bad
    is_listed = v.event == "listed"
    key = pc.binary_join_element_wise(t.column("authority"), t.column("case_number"), "\x1f")
    enc = pc.dictionary_encode(key)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    idx = _np(pc.fill_null(enc.indices, -1)).astype(np.int64)
    nkeys = len(enc.dictionary)

    grows = rows[good]
    uniq, first_pos = np.unique(idx[grows], return_index=True)
    first_rows = grows[first_pos]
    existing = uow.ingest.existing_records(
        t.column("authority").take(pa.array(first_rows)).to_pylist(),
        t.column("case_number").take(pa.array(first_rows)).to_pylist(),
    )
    store_rid = np.zeros(nkeys, dtype=np.int64)
    store_rec: dict[int, Record] = {}
    if existing:
        refs = list(existing)
        at = _np(
            pc.index_in(
                pa.array([f"{r.authority}\x1f{r.case_number}" for r in refs]),
                value_set=enc.dictionary,
            )
        )
        for k, ref in zip(at, refs, strict=True):
            store_rid[int(k)] = existing[ref].id
            store_rec[int(k)] = existing[ref].record

    first_listed = np.full(nkeys, -1, dtype=np.int64)
    lrows = rows[good & is_listed]
    lu, lpos = np.unique(idx[lrows], return_index=True)
    first_listed[lu] = lrows[lpos]
    new = good & is_listed & (store_rid[np.maximum(idx, 0)] == 0)
    new &= first_listed[np.maximum(idx, 0)] == rows
    duplicates = 0
    batch_rec: dict[int, Record] = {}

    def record_of_key(k: int) -> Record:
        if k in store_rec:
            return store_rec[k]
        if k not in batch_rec:
            batch_rec[k] = _row_record(t, v.ids, v.ext, int(first_listed[k]))
        return batch_rec[k]

    for i in np.flatnonzero(good & is_listed & ~new):
        k = int(idx[i])
        if _row_record(t, v.ids, v.ext, int(i)) == record_of_key(k):
            duplicates += 1
        else:
            where = (
                "in the registry" if k in store_rec else f"on line {v.chk.lines[first_listed[k]]}"
            )
            chk.add(
                int(i),
                "case_number",
                f"conflicts with the record listed {where} under this "
                "case number; send a corrected event to change it",
                t.column("case_number")[int(i)].as_py(),
            )

    base_r, base_e = uow.ingest.next_ids()
    new_rows = np.flatnonzero(new).astype(np.int64)
    new_ids = base_r + np.arange(len(new_rows), dtype=np.int64)
    rid_of_key = store_rid.copy()
    rid_of_key[idx[new_rows]] = new_ids
    record_id_of_row = np.where(idx >= 0, rid_of_key[np.maximum(idx, 0)], 0)

    ev_rows = np.flatnonzero(good & ~is_listed)
    seen = uow.ingest.existing_fingerprints(
        sorted({int(store_rid[idx[i]]) for i in ev_rows if store_rid[idx[i]]})
    )
    accepted_events: list[int] = []
    payload: dict[int, str] = {}
    fingerprint: dict[int, str] = {}
    col = {f: t.column(f) for f in ("event_date", "reason", "case_number")}
    for r in ev_rows.tolist():
        k = int(idx[r])
        if store_rid[k] == 0 and not (0 <= first_listed[k] < r and new[first_listed[k]]):
            chk.add(
                r,
                "case_number",
                "no record is listed under this case number by this "
                "authority, in the registry or earlier in this file",
                col["case_number"][r].as_py(),
            )
            continue
        current = record_of_key(k)
        day = col["event_date"][r].as_py()
        if dt.date.fromisoformat(day) < current.decision_date:
            chk.add(
                r,
                "event_date",
                f"is before the decision date {current.decision_date.isoformat()} of the record",
                day,
            )
            continue
        body = None
        if v.event[r] == "corrected":
            rec = _row_record(t, v.ids, v.ext, r)
            if (rec.subject_id, rec.legal_representative_id) != (
                current.subject_id,
                current.legal_representative_id,
            ):
                chk.add(
                    r,
                    "subject_id",
                    "a correction cannot change whom the record is about; "
                    "withdraw it (listed_in_error) and list a new record",
                    rec.subject_id,
                )
                continue
            body = record_to_json(rec)
        fp = event_fingerprint(str(v.event[r]), day, col["reason"][r].as_py(), body)
        rid = int(record_id_of_row[r])
        if (rid, fp) in seen:
            duplicates += 1
            continue
        seen.add((rid, fp))
        accepted_events.append(r)
        fingerprint[r] = fp
        if body is not None:
            payload[r] = body
    event_rows = np.union1d(new_rows, np.array(accepted_events, dtype=np.int64)).astype(np.int64)
    event_ids = base_e + np.arange(len(event_rows), dtype=np.int64)
    return _Plan(
        new_rows, new_ids, event_rows, event_ids, record_id_of_row, payload, fingerprint, duplicates
    )


# --------------------------------------------------------------------------- writing


def _take(t: pa.Table, f: str, rows: IntArray) -> list[Any]:
    return t.column(f).take(pa.array(rows)).to_pylist()  # type: ignore[no-any-return]


def _subjects(v: _Validated, p: _Plan) -> SubjectColumns:
    t = v.table
    rec_rows = np.union1d(p.new_rows, np.array(sorted(p.payload), dtype=np.int64)).astype(np.int64)
    sel = pa.array(rec_rows)
    rep_rows = rec_rows[v.rep.person[rec_rows]]
    rsel = pa.array(rep_rows)
    ids = pa.concat_arrays([v.ids.value.take(sel), v.rep.value.take(rsel)])
    names = pa.concat_arrays(
        [
            t.column("subject_name").combine_chunks().take(sel),
            pc.fill_null(t.column("legal_representative_name").combine_chunks().take(rsel), ""),
        ]
    )
    person = np.concatenate([v.ids.person[rec_rows], np.ones(len(rep_rows), dtype=np.bool_)])
    birth = np.concatenate([v.ids.birth[rec_rows], v.rep.birth[rep_rows]])
    enc = pc.dictionary_encode(ids)
    _u, first = np.unique(_np(enc.indices), return_index=True)
    first = np.sort(first)
    fsel = pa.array(first)
    kept = ids.take(fsel)
    pers = person[first]
    region = pc.if_else(
        pa.array(pers), pc.utf8_slice_codeunits(kept, 0, 6), pc.utf8_slice_codeunits(kept, 2, 8)
    )
    b = birth[first]
    born = [
        None if x == 0 else f"{x // 10000:04d}-{x // 100 % 100:02d}-{x % 100:02d}"
        for x in b.tolist()
    ]
    return SubjectColumns(
        id=kept.to_pylist(),
        kind=["person" if x else "enterprise" for x in pers.tolist()],
        name=names.take(fsel).to_pylist(),
        birth_date=born,
        region_code=region.to_pylist(),
    )


def _records(v: _Validated, p: _Plan, lo: int, hi: int) -> RecordColumns:
    t = v.table
    m = (p.new_rows >= lo) & (p.new_rows < hi)
    rows = p.new_rows[m]
    return RecordColumns(
        id=p.new_ids[m].tolist(),
        authority=_take(t, "authority", rows),
        case_number=_take(t, "case_number", rows),
        category=_take(t, "category", rows),
        subject_id=_take(t, "subject_id", rows),
        subject_name=_take(t, "subject_name", rows),
        decision_date=_take(t, "decision_date", rows),
        legal_basis=_take(t, "legal_basis", rows),
        amount_owed=_take(t, "amount_owed", rows),
        extension_years=v.ext[rows].tolist(),
        evidence_ref=_take(t, "evidence_ref", rows),
        legal_representative_id=_take(t, "legal_representative_id", rows),
        legal_representative_name=_take(t, "legal_representative_name", rows),
    )


def _events(v: _Validated, p: _Plan, lo: int, hi: int) -> EventColumns:
    m = (p.event_rows >= lo) & (p.event_rows < hi)
    rows = p.event_rows[m]
    listed = v.event[rows] == "listed"
    dates = (
        _np(pc.strftime(pa.array(v.event_day[rows].astype("datetime64[D]")), format="%Y-%m-%d"))
        if len(rows)
        else np.array([], dtype=object)
    )
    reasons = _take(v.table, "reason", rows)
    rl = rows.tolist()
    return EventColumns(
        id=p.event_ids[m].tolist(),
        record_id=p.record_id_of_row[rows].tolist(),
        type=v.event[rows].tolist(),
        event_date=[str(d) for d in dates.tolist()],
        payload=[p.payload.get(i) for i in rl],
        reason=[None if is_l else r for is_l, r in zip(listed.tolist(), reasons, strict=True)],
        fingerprint=[p.fingerprint.get(i, "listed") for i in rl],
    )


# --------------------------------------------------------------------------- use cases


def _ingest(
    uow: UnitOfWork,
    parsed: _Parsed,
    *,
    sha256: str,
    source: str,
    pack: RulePack,
    today: dt.date,
    all_or_nothing: bool,
    progress: Progress | None,
) -> IngestReport:
    with uow:
        uow.ingest.lock()
        done = uow.ingest.find_batch(sha256)
        if done is not None:
            return IngestReport(
                done.id,
                source,
                sha256,
                done.lines,
                done.accepted,
                done.duplicates,
                (),
                already_ingested=True,
            )
        authorities = {a.code: a.categories for a in uow.authorities.list()}
        v = _validate(parsed, pack, authorities, today)
        plan = _plan(uow, v)
        problems = tuple(
            sorted(
                [*parsed.problems, *v.chk.problems],
                key=lambda p: (p.line or 0, FIELDS.index(p.field) if p.field in FIELDS else -1),
            )
        )
        if problems and all_or_nothing:
            raise BatchRejected(
                f"{source}: {len({p.line for p in problems})} bad line(s); nothing was written",
                problems,
            )
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        accepted = len(plan.event_rows)
        bad_lines = len({p.line for p in problems})
        batch_id = uow.ingest.add_batch(
            source_name=source,
            sha256=sha256,
            received_at=now,
            lines=parsed.total_lines,
            accepted=accepted,
            duplicates=plan.duplicates,
            rejected=bad_lines,
        )
        n = v.table.num_rows
        subjects = _subjects(v, plan)
        for lo in range(0, max(n, 1), WRITE_CHUNK):
            hi = min(n, lo + WRITE_CHUNK)
            uow.ingest.write(
                batch_id, now, _records(v, plan, lo, hi), _events(v, plan, lo, hi), subjects
            )
            subjects = SubjectColumns()
            if progress is not None:
                progress(hi)
        uow.commit()
    return IngestReport(
        batch_id, source, sha256, parsed.total_lines, accepted, plan.duplicates, problems
    )


def ingest_bytes(
    uow: UnitOfWork,
    data: bytes,
    fmt: str,
    *,
    source: str,
    pack: RulePack,
    today: dt.date,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest a file's content in ``fmt`` (jsonl, csv or parquet) as one batch."""
    sha = hashlib.sha256(data).hexdigest()
    parsed = read_records(data, detect_format(Path(source), fmt))
    return _ingest(
        uow,
        parsed,
        sha256=sha,
        source=source,
        pack=pack,
        today=today,
        all_or_nothing=all_or_nothing,
        progress=progress,
    )


def ingest_file(
    uow: UnitOfWork,
    path: Path,
    *,
    pack: RulePack,
    today: dt.date,
    fmt: str | None = None,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
    source: str | None = None,
) -> IngestReport:
    """Ingest one record file as one batch (format from the extension unless ``fmt``).

    Returns what was accepted, what were duplicates, and every problem by line. Raises
    :class:`BatchRejected` when ``all_or_nothing`` and any line is bad, or when the file as a
    whole cannot be read (unknown columns, not Parquet, no CSV header).
    """
    kind = detect_format(path, fmt)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InvalidInput.one("file", f"cannot read: {e.strerror}", str(path)) from None
    return ingest_bytes(
        uow,
        data,
        kind,
        source=source or path.name,
        pack=pack,
        today=today,
        all_or_nothing=all_or_nothing,
        progress=progress,
    )


def ingest_table(
    uow: UnitOfWork,
    table: pa.Table,
    *,
    source: str,
    pack: RulePack,
    today: dt.date,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest an in-memory Arrow table with the file format's columns (row i is line i+1)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    sha = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
    n = table.num_rows
    lines = np.arange(1, n + 1, dtype=np.int64)
    _unknown_columns(table, lines, None)
    parsed = _Parsed(_as_strings(table), lines, [], n)
    return _ingest(
        uow,
        parsed,
        sha256=sha,
        source=source,
        pack=pack,
        today=today,
        all_or_nothing=all_or_nothing,
        progress=progress,
    )


__all__ = ["FIELDS", "IngestReport", "ingest_bytes", "ingest_file", "ingest_table", "read_records"]
