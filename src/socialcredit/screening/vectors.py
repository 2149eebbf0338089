"""Array helpers of the block path: IDs, screening ids and answers for many rows at once.

Each does for a column what its row-by-row counterpart does for one value, and only where
the two agree exactly: :func:`resident_keys` accepts what ``fast_id`` takes for a person
without stripping or folding anything (the canonical spelling, which ``normalise_identifier``
leaves as it is); every other ID goes the row-by-row way.
"""

from __future__ import annotations

import os
import time

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.domain.identity import RIC_WEIGHTS

_RIC_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_HEX2 = np.array(  # a byte's two hex digits, as the little-endian 16-bit word they make
    [int.from_bytes(f"{i:02x}".encode(), "little") for i in range(256)], dtype="<u2"
)
_VARIANT = np.frombuffer(b"89ab", dtype=np.uint8)


def fixed_width(arr: pa.Array, width: int) -> npt.NDArray[np.uint8]:
    """A string array whose values are all ``width`` bytes long as an (n, width) matrix."""
    arr = pa.concat_arrays([arr]) if arr.offset else arr
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1)
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].reshape(len(arr), width)


def resident_keys(ids: pa.Array) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.uint64]]:
    """Which IDs are 18-character resident IDs in ASCII digits with the right (upper case)
    check character, and their 64-bit keys (the 17 digits; 0 elsewhere)."""
    n = len(ids)
    ok = np.zeros(n, dtype=np.bool_)
    keys = np.zeros(n, dtype=np.uint64)
    length = pc.fill_null(pc.binary_length(ids), 0).to_numpy(zero_copy_only=False)
    cand = np.flatnonzero(length == 18)
    if not len(cand):
        return ok, keys
    m = fixed_width(ids if len(cand) == n else ids.take(pa.array(cand)), 18)
    # A column of the (18, n) transpose at a time: reductions and sums over a row's 17 digits
    # cost numpy several times more (a short inner loop per row).
    d = np.ascontiguousarray(m.T) - np.uint8(48)  # wraps: a byte below "0" is more than 9
    good = (d[:17] <= 9).all(axis=0)
    key = d[0].astype(np.uint64)
    check = key * np.uint64(RIC_WEIGHTS[0])
    for j in range(1, 17):
        digit = d[j].astype(np.uint64)
        key = key * np.uint64(10) + digit
        check += digit * np.uint64(RIC_WEIGHTS[j])
    good &= m[:, 17] == _RIC_CHECK[(check % np.uint64(11)).astype(np.intp)]
    ok[cand] = good
    keys[cand[good]] = key[good]
    return ok, keys


def screening_ids(n: int) -> pa.Array:
    """``n`` screening ids in the layout of ``ScreeningIds`` (UUID version 7: 48 bits of Unix
    milliseconds, 74 random bits from the OS), made as one byte matrix."""
    ms = (time.time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF
    h = np.frombuffer(f"{ms:012x}".encode(), dtype=np.uint8)
    r = np.frombuffer(os.urandom(10 * n), dtype=np.uint8).reshape(n, 10)
    rh = _HEX2[r].view(np.uint8)  # (n, 20): each random byte as its two hex digits
    out = np.empty((n, 36), dtype=np.uint8)
    out[:, 0:8] = h[:8]
    out[:, 8] = ord("-")
    out[:, 9:13] = h[8:12]
    out[:, 13] = ord("-")
    out[:, 14] = ord("7")
    out[:, 15:18] = rh[:, 1:4]
    out[:, 18] = ord("-")
    out[:, 19] = _VARIANT[(r[:, 2] >> 4) & 3]  # hex digit 4 (byte 2, high half), as ScreeningIds
    out[:, 20:23] = rh[:, 5:8]
    out[:, 23] = ord("-")
    out[:, 24:36] = rh[:, 8:20]
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out))


def joined(lines: pa.Array) -> bytes:
    """The concatenated values of a string array, without a Python string per line."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    if lines.offset or lines.null_count:
        return "".join(lines.to_pylist()).encode()
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1)
    buf = lines.buffers()[2]
    return buf[int(offsets[0]) : int(offsets[-1])].to_pybytes()  # type: ignore[no-any-return]
