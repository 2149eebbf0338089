"""Resident IDs (GB 11643) and credit codes (GB 32100) checked a whole column at once.

Check characters, birth dates and region codes run over an (n, 18) byte matrix in NumPy;
only the rows that fail are diagnosed one by one (by the caller, with the domain parser).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from stdnum import numdb

from socialcredit.domain.identity import (
    RIC_CHECK,
    RIC_WEIGHTS,
    USCC_ALPHABET,
)
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
class Ids:
    value: pa.Array  # normalised (upper case, no spaces or hyphens)
    ok: BoolArray
    person: BoolArray
    birth: IntArray  # yyyymmdd for persons, 0 otherwise
    region: list[str] | None = None


def check_ids(raw: pa.Array, today: dt.date) -> Ids:
    """Validate a column of identifiers at once; the caller diagnoses the rows not ``ok``."""
    v = pc.utf8_upper(
        pc.replace_substring(pc.replace_substring(pc.utf8_trim_whitespace(raw), " ", ""), "-", "")
    )
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
    limit = min(today, dt.date.today())
    date_ok = (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= dim) & (y >= 1880)
    date_ok &= birth_sel <= limit.year * 10000 + limit.month * 100 + limit.day
    ok_sel = np.zeros(len(sel), dtype=np.bool_)
    cand = np.flatnonzero(person & ric_ok & date_ok)
    if len(cand):
        ok_sel[cand] = _region_ok(digits[cand, :6] @ _DIGIT_POW, y[cand])
    ok_person = np.zeros(n, dtype=np.bool_)
    ok_person[sel] = ok_sel
    birth = np.zeros(n, dtype=np.int64)
    birth[sel] = np.where(ok_sel, birth_sel, 0)
    # Credit codes (GB 32100 check character); some are all digits, so every identifier
    # that is not a valid resident ID is tried.
    rest = np.flatnonzero(~ok_sel)
    me = m[rest]
    vals = _USCC_VAL[me]
    ent = (vals >= 0).all(axis=1)
    check = _USCC_CHARS[(31 - (vals[:, :17] @ _USCC_W) % 31) % 31]
    ent &= check == me[:, 17]
    ent &= ((me[:, 2:8] >= 48) & (me[:, 2:8] <= 57)).all(axis=1)
    ecand = np.flatnonzero(ent)
    if len(ecand):
        ereg = (me[ecand, 2:8] - 48) @ _DIGIT_POW
        ok_sel[rest[ecand]] = _region_ok(ereg, None)
    ok = np.zeros(n, dtype=np.bool_)
    ok[sel] = ok_sel
    return Ids(v, ok, ok_person, birth)
