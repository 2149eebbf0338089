"""A CSV or NDJSON manifest checked and answered a block of rows at a time.

A block parsed by pyarrow (:mod:`socialcredit.screening.blocks`) has *plain* rows: a
canonical resident ID (:func:`~socialcredit.screening.vectors.resident_keys`), a name, a
sector the party serves (plain characters: nothing to quote), a rate-limit token, an ID the
party's name-check budget has not blocked, and the name the registry holds for the ID (name
hashes against ``NameTable.hashes``). Those are checked in one ``check_batch`` each on the
deny and benefit indexes, answered by encoding columns (one line per distinct answer, joined
by pyarrow), and logged a block at once. Every other row (a bad or missing field, an odd
spelling, an enterprise, a wrong name, a sector not served, an ID one of the block's other
rows spells too) is read from its own line by the row-by-row reader and answered by
:func:`socialcredit.screening.batch.check_chunk`, so its answer, error, refusal in the log
and any budget it spends are exactly that path's. Blocks read row by row go there whole.

Memory is bounded by a block: the body is spooled to a file before answering, and each
block's answers are one ``bytes`` handed to the response before the next block is read.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.domain.normalise import normalise_identifier
from socialcredit.errors import InvalidInput, RegistryError
from socialcredit.runtime.metrics import SCREENINGS
from socialcredit.screening.batch import BATCH_CHUNK, MAX_BATCH_ROWS, check_chunk, row_tokens
from socialcredit.screening.blocks import Parsed, Reader, Rows
from socialcredit.screening.ids import fast_id
from socialcredit.screening.manifest import MakeRow, Row
from socialcredit.screening.names import hash_names
from socialcredit.screening.parties import KeyInfo
from socialcredit.screening.runtime import LogBlock
from socialcredit.screening.vectors import joined, resident_keys, screening_ids

if TYPE_CHECKING:
    from socialcredit.screening.api import ScreeningRuntime

DEFAULT_PURPOSE = "batch screening"
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._")
Format = Callable[[Any, str], str]  # routes.py: answers (dicts) as lines of the manifest's kind


def _column(c: pa.Array | None, n: int, default: str | None) -> pa.Array:
    """A field as a string column with ``default`` where it is missing, null or empty (as
    ``d.get(f) or default``)."""
    if c is None:
        return pa.array([default] * n, pa.string())
    if default is None:
        return c
    empty = pc.fill_null(pc.equal(pc.binary_length(c), 0), True)
    return pc.if_else(empty, default, c)


def _one_or_all(c: pa.Array) -> Any:
    """A column for the log: its one value when every row has it (a manifest's purpose,
    a default sector), else the column (copied out of the block's buffers)."""
    if len(c) and c.null_count == len(c):
        return None
    if len(c) and c.null_count == 0 and pc.all(pc.equal(c, c[0])).as_py():
        return c[0].as_py()  # (not count_distinct: a hash table of every reference)
    return pa.concat_arrays([c]) if c.offset else c


class BlockScreening:
    """Screens a manifest for one relying party, a block at a time (see the module)."""

    def __init__(
        self,
        rt: ScreeningRuntime,
        who: KeyInfo,
        kind: str,
        sector: str | None,
        make_row: Callable[[dict[str, Any], str | None, int], Row],
        fmt: Format,
    ) -> None:
        """``make_row`` and ``fmt`` are the row-by-row path's (``routes.py``): every row not
        answered here is read and written by them."""
        self.rt = rt
        self.who = who
        self.kind = kind
        self.csv = kind == "csv"
        self.sector = sector
        self.make_row: MakeRow = lambda d, n: make_row(d, sector, n)
        self.fmt = fmt
        self._tails: dict[int, str] = {}

    # --- the whole manifest ----------------------------------------------------------------

    def stream(self, body: IO[bytes]) -> Iterator[bytes]:
        """The answers to a whole manifest, a block at a time (at most MAX_BATCH_ROWS)."""
        if self.csv:
            yield (",".join(CSV_FIELDS) + "\n").encode()
        reader = Reader(body, self.kind, self.make_row)
        start = 1
        for got in reader.blocks():
            n = got.n
            over = start + n - 1 - MAX_BATCH_ROWS
            if over > 0:
                got = _head(got, n - over)
            yield self.block(reader, got, start)
            start += n
            if over > 0:
                yield self.fmt([_too_long()], self.kind).encode()
                return

    def _tokens(self, n: int) -> npt.NDArray[np.bool_]:
        """Which of a block's ``n`` rows have a rate-limit token, taken in order (a chunk of
        BATCH_CHUNK rows at a time, as the row-by-row path takes them)."""
        allowed = np.zeros(n, dtype=np.bool_)
        for at in range(0, n, BATCH_CHUNK):
            size = min(BATCH_CHUNK, n - at)
            allowed[at : at + row_tokens(self.rt, self.who, size)] = True
        return allowed

    def _slow(self, rows: list[tuple[int, Row]], allowed: list[bool]) -> list[str]:
        """Rows answered row by row: each answer's line, in the order of ``rows``."""
        out = check_chunk(self.rt, self.who, rows, True, allowed)
        return [self.fmt([d], self.kind) for d in out]

    def block(self, reader: Reader, got: Parsed | Rows, start: int) -> bytes:
        """Answers to one block whose first row is row ``start`` of the manifest."""
        allowed = self._tokens(got.n)
        if isinstance(got, Rows):
            out = []
            for at in range(0, got.n, BATCH_CHUNK):
                part = got.rows[at : at + BATCH_CHUNK]
                rows = [(start + at + j, r) for j, r in enumerate(part)]
                ok = allowed[at : at + BATCH_CHUNK].tolist()
                checked = check_chunk(self.rt, self.who, rows, True, ok)
                out.append(self.fmt(checked, self.kind))
            return "".join(out).encode()
        plain, keys, bits, sector = self._plain(got, allowed)
        read: dict[int, Row] = {}
        for i in np.flatnonzero(~plain).tolist():
            read[i] = reader.row(got, i, start + i)
        ids = self._may_fail(read.values())
        if ids:  # a plain row whose ID a row with a wrong name spells goes in order with it
            sid = got.cols["subject_id"]
            assert sid is not None
            twin = plain & pc.is_in(sid, pa.array(list(ids), pa.string())).to_numpy(
                zero_copy_only=False
            )
            for i in np.flatnonzero(twin).tolist():
                read[i] = reader.row(got, i, start + i)
            plain &= ~twin
        slow = np.flatnonzero(~plain)
        slow_rows = [(start + i, read[i]) for i in slow.tolist()]
        fast = np.flatnonzero(plain)
        lines = self._answer(got, fast, keys[fast], bits[fast], sector, start)
        if not len(slow):
            return joined(lines)
        extra = self._slow(slow_rows, allowed[slow].tolist())
        if not len(fast):
            return "".join(extra).encode()
        order = np.empty(got.n, dtype=np.int64)
        order[fast] = np.arange(len(fast))
        order[slow] = len(fast) + np.arange(len(slow))
        both = pa.concat_arrays([lines, pa.array(extra, pa.string())]).take(pa.array(order))
        return joined(both)

    def _may_fail(self, rows: Iterable[Row]) -> set[str]:
        """The resident IDs whose name check some of ``rows`` may fail: such a failure may
        spend the party's budget for the ID, and the row-by-row path then refuses the ID's
        later rows, right name or not; so the ID's plain rows go that path too."""
        out = set()
        names = self.rt.screener.names
        for r in rows:
            if isinstance(r, RegistryError) or not r.subject_id or not r.name:
                continue
            fid = fast_id(normalise_identifier(r.subject_id))
            if fid is not None and fid.code is None and not names.matches(fid.key, r.name):
                out.add(fid.value)
        return out

    # --- the plain rows --------------------------------------------------------------------

    def _bit(self, sector: str | None) -> int:
        """The sector's bit if the party serves it and it needs no quoting, else -1."""
        if sector is None or sector not in self.who.party.sectors or not set(sector) <= _SAFE:
            return -1
        try:
            return self.rt.screener.sector_bit(sector)
        except InvalidInput:
            return -1

    def _plain(
        self, got: Parsed, allowed: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.uint64], npt.NDArray[np.int64], pa.Array]:
        n, c = got.n, got.cols
        sid, name = c["subject_id"], c["name"]
        sector = _column(c["sector"], n, self.sector)
        bits = np.full(n, -1, dtype=np.int64)
        if sid is None or name is None or not n:
            return np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.uint64), bits, sector
        plain, keys = resident_keys(sid)
        plain &= allowed
        plain &= pc.fill_null(pc.greater(pc.binary_length(name), 0), False).to_numpy(
            zero_copy_only=False
        )
        enc = pc.dictionary_encode(sector)
        words = enc.dictionary.to_pylist()
        codes = pc.fill_null(enc.indices, len(words)).to_numpy(zero_copy_only=False)
        bits = np.array([self._bit(w) for w in words] + [-1], dtype=np.int64)[codes]
        plain &= bits >= 0
        guard = self.rt.guard
        party = self.who.party.code
        blocked = guard.blocked_here(party)
        if blocked is None:  # a shared storage: ask for each row
            rows = np.flatnonzero(plain)
            ids = sid.take(pa.array(rows)).to_pylist()
            plain[rows] = [guard.blocked(party, i) is None for i in ids]
        elif blocked:
            hit = pc.is_in(sid, pa.array(list(blocked), pa.string()))
            plain &= ~pc.fill_null(hit, False).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(plain)
        if len(rows):
            stored = self.rt.screener.names.hashes(keys[rows])
            given = hash_names(name.take(pa.array(rows)))
            plain[rows[stored != given]] = False
        return plain, keys, bits, sector

    def _answer(
        self,
        got: Parsed,
        rows: npt.NDArray[np.int64],
        keys: npt.NDArray[np.uint64],
        bits: npt.NDArray[np.int64],
        sector: pa.Array,
        start: int,
    ) -> pa.Array:
        """The plain rows' answers: checked, logged, and formatted as lines."""
        n = len(rows)
        if not n:
            return pa.array([], pa.string())
        self._tails.clear()  # a reason's index is the rule pack's, which may change
        s = self.rt.screener
        day = self.rt.reg.today()
        deny = s.deny.current.check_batch(keys, bits, day)
        ben = s.benefits.current.check_batch(keys, bits, day)
        ben_reason = np.where(deny.deny | ~ben.deny, -1, ben.reason).astype(np.int64)
        # One answer per distinct (sector, verdict, incentive): an allow is its sector's bit,
        # the few others are numbered past the bits by their distinct columns.
        key = bits.copy()
        special = np.flatnonzero(deny.deny | (ben_reason >= 0))
        if len(special):
            cols = [bits, deny.deny, deny.until, deny.reason, ben_reason]
            m = np.stack([np.asarray(c)[special].astype(np.int64) for c in cols], axis=1)
            key[special] = 1 + int(bits.max()) + np.unique(m, axis=0, return_inverse=True)[1]
        combos, first, which, count = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
        which = which.reshape(-1)
        tails, decisions, reasons = [], [], []
        for combo, j, k in zip(combos.tolist(), first.tolist(), count.tolist(), strict=True):
            v = deny.verdict(j)
            b = None if v.deny else ben.verdict(j).reason_code
            a = s.answer(sector[int(rows[j])].as_py(), v, b, day)
            tails.append(self._tail(combo, a))
            decisions.append(a.decision)
            reasons.append(a.reason_code)
            SCREENINGS.add((a.sector, a.decision), k)
        take = pa.array(rows)
        subject = got.cols["subject_id"].take(take)  # type: ignore[union-attr]
        sec = sector.take(take)
        ids = screening_ids(n)
        self._log(got, rows, subject, sec, ids, which, decisions, reasons)
        tail = pa.array(tails, pa.string()).take(pa.array(which))
        number = pc.cast(pa.array(rows + start), pa.string())
        if self.csv:
            return pc.binary_join_element_wise(number, ",", subject, ",", tail, ids, ",,\n", "")
        parts = ['{"row": ', number, ', "subject_id": "', subject, '", "screening_id": "']
        return pc.binary_join_element_wise(*parts, ids, '", ', tail, "")

    def _tail(self, combo: int, a: Any) -> str:
        """The part of an answer's line that is the same for every row with its answer."""
        got = self._tails.get(combo)
        if got is None:
            until = None if a.until is None else a.until.isoformat()
            fields = [a.decision, a.sector, a.reason_code, until, a.until_condition, a.benefit]
            if self.csv:
                buf = io.StringIO()
                csv.writer(buf, lineterminator="").writerow(fields)
                got = buf.getvalue() + ","
            else:
                d = dict(zip(CSV_FIELDS[2:8], fields, strict=True))
                got = json.dumps(d, ensure_ascii=False)[1:] + "\n"
            self._tails[combo] = got
        return got

    def _log(
        self,
        got: Parsed,
        rows: npt.NDArray[np.int64],
        subject: pa.Array,
        sec: pa.Array,
        ids: pa.Array,
        which: npt.NDArray[np.intp],
        decisions: list[str],
        reasons: list[str | None],
    ) -> None:
        """The plain rows' log rows, queued as one block of columns."""
        c = got.cols
        take = pa.array(rows)
        ref = c["reference"]
        one = len(decisions) == 1
        per_row = pa.array(which) if not one else None
        cols: dict[str, Any] = {  # SCREENING_COLUMNS
            "screening_id": ids,
            "at": time.time(),
            "relying_party": self.who.party.code,
            "subject_id": subject,
            "sector": _one_or_all(sec),
            "purpose": _one_or_all(_column(c["purpose"], got.n, DEFAULT_PURPOSE).take(take)),
            "reference": None if ref is None else _one_or_all(ref.take(take)),
            "decision": decisions[0] if one else pa.array(decisions).take(per_row),
            "reason_code": reasons[0] if one else pa.array(reasons, pa.string()).take(per_row),
            "rulepack_version": self.rt.screener.pack.version,
        }
        self.rt.writer.screening_block(LogBlock(len(rows), cols))


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


def _too_long() -> dict[str, Any]:
    return {
        "row": MAX_BATCH_ROWS + 1,
        "error": "invalid_input",
        "message": "a manifest has at most 1,000,000 rows",
    }


def _head(got: Parsed | Rows, k: int) -> Parsed | Rows:
    if isinstance(got, Rows):
        return Rows(got.rows[:k])
    cols = {f: None if c is None else c.slice(0, k) for f, c in got.cols.items()}
    return Parsed(k, cols, got.block, got.starts[:k], got.ends[:k])


def closing(stream: Iterator[bytes], body: IO[bytes]) -> Iterator[bytes]:
    """``stream``, then the spooled body closed (also when the client goes away)."""
    try:
        yield from stream
    finally:
        body.close()
