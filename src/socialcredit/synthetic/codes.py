"""Identifiers of synthetic subjects, drawn column-wise: GB 11643 resident IDs and GB 32100
unified social credit codes (with GB 11714 organisation codes inside), each laid out as an
(n, 18) byte matrix, check characters computed over whole columns, and turned into an Arrow
string array without a Python loop. Repeats are redrawn, so every ID is unique.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.domain.identity import USCC_ALPHABET

I64 = npt.NDArray[np.int64]

RIC_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
RIC_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
USCC_BYTES = np.frombuffer(USCC_ALPHABET.encode("ascii"), dtype=np.uint8)
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
# Entity types under registration authority 9 (market regulation): 1 enterprise,
# 2 individual business, 3 farmers' cooperative.
ENTERPRISE_TYPES = ((b"91", 0.88), (b"92", 0.08), (b"93", 0.04))
NEW_STYLE_ORG_SHARE = 0.7  # codes issued since 2015 carry an organisation code "MA......"


def _ascii_strings(matrix: npt.NDArray[np.uint8]) -> pa.Array:
    """An (n, k) matrix of ASCII bytes -> an Arrow string array of n strings of length k."""
    n, k = matrix.shape
    offsets = np.arange(0, (n + 1) * k, k, dtype=np.int32 if n * k < 2**31 else np.int64)
    data = np.ascontiguousarray(matrix).tobytes()
    typ = pa.string() if offsets.dtype == np.int32 else pa.large_string()
    arr = pa.Array.from_buffers(typ, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return arr.cast(pa.string()) if typ != pa.string() else arr


def _digits(values: I64, width: int) -> npt.NDArray[np.int64]:
    """Decimal digits of non-negative ints as an (n, width) matrix, most significant first."""
    out = np.empty((len(values), width), dtype=np.int64)
    v = values.copy()
    for i in range(width - 1, -1, -1):
        out[:, i] = v % 10
        v //= 10
    return out


def _repeat_rows(key: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Rows whose key repeats an earlier row's, in row order (the first occurrence is kept).

    A plain sort and a binary search into the few repeated values: ``np.unique`` and
    ``argsort`` on ten million keys cost seconds, this costs a fraction of one.
    """
    sk = np.sort(key)
    same = sk[1:] == sk[:-1]
    if not same.any():
        return np.empty(0, dtype=np.int64)
    values = np.sort(np.array(sorted(set(sk[1:][same].tolist())), dtype=np.int64))
    pos = np.minimum(np.searchsorted(values, key), len(values) - 1)
    rows = np.flatnonzero(values[pos] == key)
    seen: set[int] = set()
    out = []
    for r, k in zip(rows.tolist(), key[rows].tolist(), strict=True):
        if k in seen:
            out.append(r)
        seen.add(k)
    return np.array(out, dtype=np.int64)


def unique_keys(
    rng: np.random.Generator, prefix: npt.NDArray[np.int64], male: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """17-digit keys: prefix + a sequence code (odd for men), redrawing the rare repeats."""
    key = prefix + 2 * rng.integers(0, 500, size=len(prefix)) + male
    for _ in range(100):
        dup = _repeat_rows(key)
        if len(dup) == 0:
            return key
        key[dup] = prefix[dup] + 2 * rng.integers(0, 500, size=len(dup)) + male[dup]
    raise RuntimeError("could not make resident IDs unique")  # pragma: no cover


def resident_ids(key: npt.NDArray[np.int64]) -> pa.Array:
    """The 18-character resident IDs of 17-digit keys: the keys' digits and a check character."""
    n = len(key)
    # Every key has exactly 17 digits (region codes start at 11), so Arrow's integer to
    # string cast lays the 17 ASCII digits of each ID out back to back.
    text = pc.cast(pa.array(key), pa.string())
    digits = np.frombuffer(text.buffers()[2], dtype=np.uint8, count=17 * n).reshape(n, 17)
    total = np.zeros(n, dtype=np.int32)
    for i in range(17):
        total += (digits[:, i].astype(np.int32) - 48) * int(RIC_WEIGHTS[i])
    matrix = np.empty((n, 18), dtype=np.uint8)
    matrix[:, :17] = digits
    matrix[:, 17] = RIC_CHECK[total % 11]
    return _ascii_strings(matrix)


def credit_codes(
    rng: np.random.Generator, region: npt.NDArray[np.int64], etype: npt.NDArray[np.int64]
) -> pa.Array:
    """Credit codes of enterprises of the given county codes and :data:`ENTERPRISE_TYPES`
    rows: a fresh organisation code each, none repeating within its region."""
    n = len(region)
    head = np.array([list(t) for t, _ in ENTERPRISE_TYPES], dtype=np.uint8)[etype]
    rdig = (_digits(region, 6) + 48).astype(np.uint8)
    body = _org_bodies(rng, n)
    for _ in range(100):  # organisation codes must not repeat within a region
        dup = _repeat_rows(region * 36**8 + _base36(body))
        if len(dup) == 0:
            break
        body[dup] = _org_bodies(rng, len(dup))
    else:  # pragma: no cover
        raise RuntimeError("could not make credit codes unique")
    # GB 11714: letters count 10..35, digits their value; check 11 - sum mod 11 (10 -> X).
    bval = np.where(body >= 65, body.astype(np.int64) - 55, body.astype(np.int64) - 48)
    c9 = (11 - (bval @ ORG_WEIGHTS) % 11) % 11
    org_check = np.where(c9 == 10, ord("X"), c9 + 48).astype(np.uint8)
    matrix = np.empty((n, 18), dtype=np.uint8)
    matrix[:, 0:2] = head
    matrix[:, 2:8] = rdig
    matrix[:, 8:16] = body
    matrix[:, 16] = org_check
    lut = np.full(256, -1, dtype=np.int64)
    lut[USCC_BYTES] = np.arange(len(USCC_BYTES))
    total = lut[matrix[:, :17]] @ USCC_WEIGHTS
    matrix[:, 17] = USCC_BYTES[(31 - total % 31) % 31]
    return _ascii_strings(matrix)


def _base36(chars: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    value = np.zeros(len(chars), dtype=np.int64)
    for i in range(chars.shape[1]):
        c = chars[:, i].astype(np.int64)
        value = value * 36 + np.where(c >= 65, c - 55, c - 48)
    return value


def _org_bodies(rng: np.random.Generator, n: int) -> npt.NDArray[np.uint8]:
    """Eight body characters of organisation codes: 'MA' + 6 symbols, or 8 legacy digits."""
    body = np.empty((n, 8), dtype=np.uint8)
    new = rng.random(n) < NEW_STYLE_ORG_SHARE
    body[:, :] = USCC_BYTES[rng.integers(0, 10, (n, 8))]
    body[new, 0] = ord("M")
    body[new, 1] = ord("A")
    body[new, 2:] = USCC_BYTES[rng.integers(0, len(USCC_BYTES), (int(new.sum()), 6))]
    return body
