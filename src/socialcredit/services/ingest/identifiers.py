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
from socialcredit.services.ingest.fields import (
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
    return Ids(v, ok, ok_person, np.where(ok_person, birth, 0))
