"""The name hash: a column hashed at array speed equals each name hashed alone, and the
characters normalised by pyarrow are exactly those for which that is the same as NFKC,
dropping the separators and casefolding."""

from __future__ import annotations

import random
import re
import unicodedata

import numpy as np
import pyarrow as pa
import pytest

from socialcredit.screening.namehash import (
    DROPPED,
    FAST_CHARS,
    hash_bytes,
    hash_names,
    name_hash,
    normalise_name,
)

AWKWARD = [
    "张三",
    "阿依古丽·买买提",  # U+00B7
    "阿依古丽・买买提",  # U+30FB
    "阿依古丽•买买提",  # U+2022
    "阿依古丽‧买买提",  # U+2027
    "阿依古丽买买提",
    "ＡＢＣ　ｄｅｆ",  # fullwidth letters and the ideographic space
    "abc def",
    "Straße",
    "STRASSE",
    "İstanbul",  # Turkish capital I with a dot: casefold leaves a combining dot
    "istanbul",
    "e\u0301",  # a combining acute accent: NFKC composes it
    "é",
    "\uf9e1娜",  # a compatibility ideograph for 李
    "\U0002f929建国",  # and for 王
    "😀",
    "👩‍👩‍👧",  # joined by zero-width joiners
    "",
    " ",
    "\u00a0\t-.'",  # nothing but separators
    "Mc-Donald O'Brien",
    "ǅ",  # title case digraph
    "ﬁ",  # a ligature
    "Σίσυφος",
    "名" * 21,  # 63 bytes: one matrix
    "名" * 22,  # 66 bytes: a matrix of its own
    "x" * 16_384,
    "𠀀𪜀𫝀",  # extensions B, C, D
    "\x00\x7f",
]


def test_a_column_hashes_as_each_name_alone() -> None:
    want = [name_hash(n) for n in AWKWARD]
    assert hash_names(AWKWARD).tolist() == want
    arr = pa.array(["pad", *AWKWARD, "pad"])  # a slice: offsets not starting at zero
    assert hash_names(arr.slice(1, len(AWKWARD))).tolist() == want
    assert hash_names(pa.array(AWKWARD, pa.large_string())).tolist() == want
    assert hash_names([]).tolist() == []


@pytest.mark.parametrize("plain", [0, 3, 200])
def test_a_few_names_with_separators_among_many_without(plain: int) -> None:
    """Separators are dropped by a regex over the names that may hold one, or over all when
    many do: either way as ``normalise_name`` drops them."""
    names = [f"名{i}" for i in range(plain)] + ["李·娜", "Ab-C", "x\u00a0y"] + ["王五"] * plain
    assert hash_names(names).tolist() == [name_hash(n) for n in names]


def test_random_names_hash_alike() -> None:
    rng = random.Random(2026)
    pools = [
        (0x20, 0x7E),
        (0x4E00, 0x9FFF),
        (0xA0, 0x2FFF),
        (0x3000, 0x33FF),
        (0x1F300, 0x1F64F),
        (0xFF00, 0xFFEF),
    ]
    names = []
    for _ in range(5000):
        k = rng.choice([0, 1, 2, 3, 5, 8, 13, 30, 90])
        names.append("".join(chr(rng.randint(*rng.choice(pools))) for _ in range(k)))
        names.append(rng.choice(DROPPED).join(names[-1]))
    assert hash_names(names).tolist() == [name_hash(n) for n in names]


def test_the_byte_hash_of_every_length() -> None:
    rng = np.random.default_rng(7)
    strings = ["".join(chr(c) for c in rng.integers(0x21, 0x7F, k)) for k in range(200)]
    strings = [s.lower().translate(dict.fromkeys(map(ord, DROPPED))) for s in strings]
    assert [normalise_name(s) for s in strings] == strings
    assert hash_names(strings).tolist() == [hash_bytes(s.encode()) for s in strings]


def test_the_hash_is_pinned() -> None:
    """The name table's snapshots hold these hashes: change the function, and
    ``service.SNAPSHOT_FORMAT`` must change with it (old snapshots are then rebuilt)."""
    assert [name_hash(n) for n in ("", "张三", "阿依古丽·买买提", "Straße")] == PINNED


PINNED = [3793791033, 1698544342, 2159067232, 1347374701]


def test_names_one_character_apart_do_not_collide() -> None:
    """Same length, one word apart: the 64-bit states differ for certain, so only the cut to
    32 bits could make two agree (for these 20,992 names, it does not)."""
    names = [f"张{chr(c)}" for c in range(0x4E00, 0xA000)]
    assert len(set(hash_names(names).tolist())) == len(names)


def _fast(c: str) -> bool:
    return re.fullmatch(f"[{FAST_CHARS}]", c) is not None


def _fast_ranges() -> list[tuple[int, int]]:
    parts = re.findall(r"(.)(?:-(.))?", FAST_CHARS, re.S)
    return [(ord(a), ord(b or a)) for a, b in parts]


def test_pyarrow_normalises_exactly_the_names_it_may() -> None:
    """Each character of the fast set has no decomposition and is no combining mark (so NFKC
    leaves it as it is; but U+00A0, a space to NFKC, dropped either way), casefolds as
    ASCII's lower case does, and is never the second of a canonical composition pair (so no
    two of them compose): for a name made only of them, NFKC, dropping and casefolding is
    dropping and lowering ASCII."""
    fast = [c for lo, hi in _fast_ranges() for c in map(chr, range(lo, hi + 1))]
    assert len(fast) > 85_000
    for c in fast:
        nfkc = unicodedata.normalize("NFKC", c)
        assert nfkc == c or (c in DROPPED and nfkc in DROPPED), hex(ord(c))  # U+00A0: " "
        assert unicodedata.combining(c) == 0, hex(ord(c))
        assert not unicodedata.decomposition(c) or c == "\u00a0", hex(ord(c))
        assert c.casefold() == (c.lower() if c.isascii() else c), hex(ord(c))
    for cp in range(0x110000):
        d = unicodedata.decomposition(chr(cp))
        if d and not d.startswith("<") and len(d.split()) == 2:
            assert not _fast(chr(int(d.split()[1], 16))), hex(cp)
    # Hangul syllables compose by rule, not by the table: their jamo are not in the set
    assert not any(_fast(chr(cp)) for cp in range(0x1100, 0x1200))


@pytest.mark.parametrize("name", ["阿依古丽·买买提", "ＡＢＣ", "İ"])
def test_normalising_is_unchanged(name: str) -> None:
    assert (
        normalise_name(name)
        == {"阿依古丽·买买提": "阿依古丽买买提", "ＡＢＣ": "abc", "İ": "i̇"}[name]
    )
