"""The 32-bit hash of a normalised name, for one name or a whole column at array speed.

A name is normalised as ``NFKC``, the separators ID cards and keyboards spell differently
dropped, then ``casefold`` (:func:`normalise_name`). Its hash is a chain of splitmix64's
finaliser over the normalised UTF-8 bytes, eight at a time (:func:`name_hash`)::

    s = mix(len(b) ^ K)
    for each 8-byte little-endian word w of b (the last padded with zero bytes):
        s = mix(s ^ w)
    hash = s >> 32

It replaced a 4-byte BLAKE2b, whose one C call per name (with its normalisation, a Python
call per distinct name) was half of a batch manifest's cost on the server: this one runs
over a column of names as a few NumPy operations per eight bytes (:func:`hash_names`).

Why a wrong name still passes with probability 2**-32 (the name table's claim): ``mix`` is
a bijection of 64-bit words in which every output bit depends on every input bit, so each
step ``s -> mix(s ^ w)`` is a bijection of the state for a given word. Two normalised names
of different lengths start from different states; two of the same length that differ in one
word (a name one or two characters off) reach that word from the same state and leave it,
and every later step, in different states: their 64-bit results always differ, and the top
32 bits agree only as two well-mixed values do, 2**-32. Names differing in more words can
meet in the 64-bit state only by that same chance (2**-64). What the hash does not give is
BLAKE2b's resistance to someone who holds the right name and searches for another with its
hash; but whoever holds the right name has nothing to fish for.

Normalising a column without a Python call per name: for a name whose every character is
ASCII, a CJK ideograph (the unified blocks, not the compatibility ideographs) or one of the
dropped separators, NFKC changes nothing but a no-break space, to a space, dropped either
way (none of them has a canonical decomposition, none is a combining mark, and none is the
second of a canonical composition pair: tested over the whole Unicode database in
``tests/unit/test_screening_namehash.py``) and casefold is ASCII's lower case, so normalising
is dropping the separators and lowering ASCII, which pyarrow does over the column. Any
other name (Latin letters with accents, fullwidth forms, ß, Turkish İ, emoji) is normalised
by :func:`normalise_name` itself, one call per distinct name.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]

# Separators that ID cards and keyboards spell differently: the middle dot of minority names
# (U+00B7, U+30FB, U+2022, U+2027), hyphens, spaces.
DROPPED = " \t\u00b7\u30fb\u2022\u2027\u00a0-.'"
_DROP = dict.fromkeys(map(ord, DROPPED), None)
_K = 0x9E3779B97F4A7C15  # the length's key: mix(0) is 0, so the start state is never mix(len)
_M64 = (1 << 64) - 1
WORDS_AT_ONCE = 8  # names up to 64 bytes hashed in one matrix; longer ones in their own
# Characters normalised by pyarrow: ASCII, the CJK unified ideographs (extension A, the main
# block, extensions B to F) and the non-ASCII separators above.
FAST_CHARS = (
    "\x00-\x7f\u00a0\u00b7\u2022\u2027\u30fb\u3400-\u4dbf\u4e00-\u9fff"
    "\U00020000-\U0002a6df\U0002a700-\U0002ebef"
)
_FAST = f"^[{FAST_CHARS}]*$"
_MAY_DROP = np.zeros(256, dtype=np.bool_)  # the first byte of each separator's UTF-8
_MAY_DROP[[c.encode()[0] for c in DROPPED]] = True
_DROP_RE = "[" + "".join("\\" + c if c in "-.'" else c for c in DROPPED) + "]"


def normalise_name(name: str) -> str:
    return unicodedata.normalize("NFKC", name).translate(_DROP).casefold()


def _mix_one(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def hash_bytes(data: bytes) -> int:
    """The hash of normalised UTF-8 bytes (see the module's docstring)."""
    s = _mix_one(len(data) ^ _K)
    for at in range(0, len(data), 8):
        s = _mix_one(s ^ int.from_bytes(data[at : at + 8], "little"))
    return s >> 32


def name_hash(name: str) -> int:
    return hash_bytes(normalise_name(name).encode("utf-8"))


# --------------------------------------------------------------------------- columns


def _mix(z: U64) -> U64:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    out: U64 = z ^ (z >> np.uint64(31))
    return out


def _hash_rows(data: npt.NDArray[np.uint8], lengths: U64) -> U32:
    """:func:`hash_bytes` of each of ``len(lengths)`` strings laid end to end in ``data``, as
    one zero-padded matrix of 8-byte words (row-major order keeps the bytes' order)."""
    words = -(-int(lengths.max()) // 8) if len(lengths) else 0
    mat = np.zeros((len(lengths), 8 * words), dtype=np.uint8)
    if words:
        mat[np.arange(8 * words, dtype=np.uint64)[None, :] < lengths[:, None]] = data
    w = mat.view("<u8")
    s = _mix(lengths ^ np.uint64(_K))
    count = (lengths + np.uint64(7)) // np.uint64(8)
    for j in range(words):
        s = np.where(count > j, _mix(s ^ w[:, j]), s)
    out: U32 = (s >> np.uint64(32)).astype(np.uint32)
    return out


def _bytes(arr: pa.Array) -> tuple[npt.NDArray[np.uint8], U64]:
    """A string array's values laid end to end, and their lengths in bytes."""
    width = np.int64 if arr.type == pa.large_string() else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    buf = arr.buffers()[2]
    data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
    return data[int(offsets[0]) : int(offsets[-1])], np.diff(offsets).astype(np.uint64)


def _hash_strings(arr: pa.Array) -> U32:
    """:func:`hash_bytes` of each (already normalised) string of ``arr`` (no nulls): names up
    to ``8 * WORDS_AT_ONCE`` bytes in one matrix, each longer one in a matrix of its own."""
    data, lengths = _bytes(arr)
    short = lengths <= 8 * WORDS_AT_ONCE
    if short.all():
        return _hash_rows(data, lengths)
    out = np.empty(len(arr), dtype=np.uint32)
    out[short] = _hash_rows(*_bytes(arr.filter(pa.array(short))))
    for i in np.flatnonzero(~short).tolist():
        out[i] = _hash_rows(*_bytes(arr.slice(i, 1)))[0]
    return out


def _dropped(arr: pa.Array) -> pa.Array:
    """``arr`` with the separators removed, by a regex over only the names holding a byte
    that may begin one (most names hold none)."""
    data, lengths = _bytes(arr)
    at = np.flatnonzero(_MAY_DROP[data])
    if not len(at):
        return arr
    ends = np.cumsum(lengths)
    rows = np.unique(np.searchsorted(ends, at, "right"))
    if len(rows) * 4 > len(arr):
        return pc.replace_substring_regex(arr, _DROP_RE, "")
    some = pc.replace_substring_regex(arr.take(pa.array(rows)), _DROP_RE, "")
    mask = np.zeros(len(arr), dtype=np.bool_)
    mask[rows] = True
    return pc.replace_with_mask(arr, pa.array(mask), some.cast(arr.type))


def hash_names(names: pa.Array | Sequence[str]) -> U32:
    """:func:`name_hash` of each name (no nulls), normalised by pyarrow where that is exact
    (see the module's docstring) and by :func:`normalise_name` elsewhere."""
    arr = names if isinstance(names, pa.Array) else pa.array(names, pa.string())
    if not len(arr):
        return np.zeros(0, dtype=np.uint32)
    fast = pc.match_substring_regex(arr, _FAST)
    norm = pc.ascii_lower(_dropped(arr))
    if not fast.false_count:
        return _hash_strings(norm)
    slow = np.flatnonzero(~fast.to_numpy(zero_copy_only=False))
    enc = pc.dictionary_encode(arr.take(pa.array(slow)))
    done = pa.array([normalise_name(w) for w in enc.dictionary.to_pylist()], norm.type)
    values = pc.replace_with_mask(
        norm, pc.invert(fast), done.take(enc.indices)
    )  # each slow name's own normalisation in its place
    return _hash_strings(values)
