"""Persons' numbers (GB 11643 layout) and credit codes (GB 32100) checked a whole column at once.

Check characters, birth dates and address codes run over an (n, 18) byte matrix in NumPy;
the rare rows that need more (non-ASCII input, 15-digit first-generation numbers, anything
that fails) are parsed one by one by the caller with the domain parser, whose answer wins.
Address codes are checked against every code GB/T 2260 ever held (``domain/regions.py``);
an unknown one sets ``warn``, not a rejection, exactly as the domain parser warns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.domain.identity import (
    RIC_CHECK,
    RIC_WEIGHTS,
    USCC_ALPHABET,
    normalise_id,
)
from socialcredit.domain.regions import PERMIT_REGIONS, known_region_codes
from socialcredit.registry.ingest.fields import (
    BoolArray,
    IntArray,
)

_RIC_W = np.array(RIC_WEIGHTS, dtype=np.int64)
_RIC_CHECK = np.frombuffer(RIC_CHECK.encode(), dtype=np.uint8)
_USCC_VAL = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(USCC_ALPHABET):
    _USCC_VAL[ord(_c)] = _i
_USCC_W = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_USCC_CHARS = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
_DIGIT_POW = 10 ** np.arange(5, -1, -1, dtype=np.int64)


@cache
def _codes() -> tuple[IntArray, IntArray, IntArray]:
    """Sorted address codes ever in GB/T 2260; the same with the permits' (830000 is not
    one); the province prefixes."""
    codes = {int(c) for c in known_region_codes()}
    provinces = {c // 10000 for c in codes if c % 10000 == 0}
    permits = codes | {int(c) for c in PERMIT_REGIONS}

    def arr(x: set[int]) -> IntArray:
        return np.array(sorted(x), dtype=np.int64)

    return arr(codes), arr(permits), arr(provinces)


def _known(sorted_codes: IntArray, values: IntArray) -> BoolArray:
    at = np.clip(np.searchsorted(sorted_codes, values), 0, max(len(sorted_codes) - 1, 0))
    return np.asarray(sorted_codes[at] == values, dtype=np.bool_)


def region_known(region: IntArray, foreign: BoolArray) -> BoolArray:
    """Whether each person's address code (``region``: the first six digits) is one GB/T 2260
    ever held, or for a foreign permanent residence card (leading 9) its province of issue."""
    _, codes, provinces = _codes()
    out = _known(codes, region)
    out[foreign] = _known(provinces, (region[foreign] // 1000) % 100)
    return out


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
class Ids:
    value: pa.Array  # normalised (NFKC, ASCII digits, upper case, no spaces or hyphens)
    ok: BoolArray
    person: BoolArray
    birth: IntArray  # yyyymmdd for persons, 0 otherwise
    warn: BoolArray  # ok, but the address code was never in GB/T 2260


def normalise(raw: pa.Array) -> pa.Array:
    """:func:`~socialcredit.domain.identity.normalise_id` over a column: in Arrow for ASCII
    values, by the domain function itself for the few others (full-width digits...)."""
    v = pc.utf8_upper(
        pc.replace_substring(pc.replace_substring(pc.utf8_trim_whitespace(raw), " ", ""), "-", "")
    )
    wide = np.flatnonzero(~np.asarray(pc.fill_null(pc.string_is_ascii(raw), True), dtype=bool))
    if len(wide) == 0:
        return v
    vals = v.to_pylist()
    for i in wide.tolist():
        vals[i] = normalise_id(raw[i].as_py())
    return pa.array(vals, pa.string())


def check_ids(raw: pa.Array, today: dt.date) -> Ids:
    """Validate a column of identifiers at once; the caller diagnoses the rows not ``ok``
    (15-digit first-generation numbers among them: the domain parser converts those)."""
    v = normalise(raw)
    n = len(v)
    present = v.is_valid().to_numpy(zero_copy_only=False)
    len18 = present & (pc.fill_null(pc.binary_length(v), 0).to_numpy(zero_copy_only=False) == 18)
    # Work only on the 18-character values (a representative column is mostly empty).
    sel = np.flatnonzero(len18)
    m = _fixed18(v)[sel].astype(np.int64)
    digits = m[:, :17] - 48
    all_digits = ((digits >= 0) & (digits <= 9)).all(axis=1)
    last = m[:, 17]
    person = all_digits & (((last >= 48) & (last <= 57)) | (last == 88))
    ric_ok = _RIC_CHECK[(digits @ _RIC_W) % 11] == last
    y = digits[:, 6:10] @ _DIGIT_POW[2:]
    mo = digits[:, 10] * 10 + digits[:, 11]
    d = digits[:, 12] * 10 + digits[:, 13]
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    mdays = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    dim = mdays[np.clip(mo, 0, 12)] + ((mo == 2) & leap)
    birth_sel = y * 10000 + mo * 100 + d
    date_ok = (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= dim) & (y >= 1880)
    date_ok &= birth_sel <= today.year * 10000 + today.month * 100 + today.day
    ok_sel = person & ric_ok & date_ok
    warn_sel = np.zeros(len(sel), dtype=np.bool_)
    cand = np.flatnonzero(ok_sel)
    if len(cand):
        region = digits[cand, :6] @ _DIGIT_POW
        warn_sel[cand] = ~region_known(region, digits[cand, 0] == 9)
    ok_person = np.zeros(n, dtype=np.bool_)
    ok_person[sel] = ok_sel
    birth = np.zeros(n, dtype=np.int64)
    birth[sel] = np.where(ok_sel, birth_sel, 0)
    # Credit codes (GB 32100 check character); some are all digits, so every identifier
    # that is not a valid person's number is tried.
    rest = np.flatnonzero(~ok_sel)
    me = m[rest]
    vals = _USCC_VAL[me]
    ent = (vals >= 0).all(axis=1)
    check = _USCC_CHARS[(31 - (vals[:, :17] @ _USCC_W) % 31) % 31]
    ent &= check == me[:, 17]
    # The region code is digits; the registration authority before it may be a letter (A,
    # N, Y), as in the domain parser.
    ent &= ((me[:, 2:8] >= 48) & (me[:, 2:8] <= 57)).all(axis=1)
    ecand = np.flatnonzero(ent)
    if len(ecand):
        ok_sel[rest[ecand]] = True
        ereg = (me[ecand, 2:8] - 48) @ _DIGIT_POW
        warn_sel[rest[ecand]] = ~_known(_codes()[0], ereg)
    ok = np.zeros(n, dtype=np.bool_)
    ok[sel] = ok_sel
    warn = np.zeros(n, dtype=np.bool_)
    warn[sel] = warn_sel
    return Ids(v, ok, ok_person, birth, warn)
