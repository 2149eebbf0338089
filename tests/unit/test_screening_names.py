"""The name table: a keyless retrieval filter over the registry's subjects, plus the exact
table of those added or renamed since it was built."""

from __future__ import annotations

import numpy as np
import pytest

from socialcredit.screening.names import NameFilter, NameTable, name_hash


def _keys(n: int, seed: int) -> np.ndarray:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    keys = np.unique(rng.integers(10**16, 10**17, size=n, dtype=np.int64)).astype(np.uint64)
    return rng.permutation(keys)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 100, 5_000, 200_000])
def test_filter_returns_every_known_keys_value_exactly(n: int) -> None:
    keys = _keys(n, n)
    vals = np.random.default_rng(1).integers(0, 2**32, size=len(keys), dtype=np.uint64)
    f = NameFilter.build(keys, vals.astype(np.uint32))
    assert np.array_equal(f.lookup(keys), vals.astype(np.uint32))
    for k, v in list(zip(keys.tolist(), vals.tolist(), strict=True))[:500]:
        assert f.lookup_one(k) == v  # the scalar path agrees with the vectorised one


def test_filter_costs_under_five_bytes_a_subject() -> None:
    f = NameFilter.build(_keys(200_000, 3), np.zeros(200_000, np.uint32)[: len(_keys(200_000, 3))])
    assert f.nbytes / f.count < 5.0


def test_unknown_keys_and_wrong_names_fail() -> None:
    table = NameTable.build((int(k), f"名{i}") for i, k in enumerate(_keys(50_000, 5)))
    unknown = _keys(50_000, 6)
    passed = sum(table.matches(int(k), "张三") for k in unknown[:20_000])
    assert passed == 0  # each passes with probability 2**-32
    first = int(_keys(50_000, 5)[0])
    assert table.matches(first, "名0") and not table.matches(first, "名1")


def test_renames_and_new_subjects_are_exact_and_survive_compaction_and_snapshots() -> None:
    keys = [int(k) for k in _keys(1_000, 7)]
    table = NameTable.build((k, f"旧{i}") for i, k in enumerate(keys))
    table = table.with_names([(keys[0], "新名"), (123456789, "新人")])
    for t in (table, table.compacted()):
        assert t.matches(keys[0], "新名") and not t.matches(keys[0], "旧0")
        assert t.matches(123456789, "新人") and t.matches(keys[1], "旧1")
    c = table.compacted()
    again = NameTable.from_arrays(c.meta(), c.arrays())
    assert again.matches(keys[0], "新名") and not again.matches(keys[0], "旧0")
    assert again.matches(keys[5], "旧5") and again.hash_of(123456789) == name_hash("新人")
    assert again.size == 1_002  # the renamed subject is an entry in both until a rebuild


def test_normalised_names_match_across_spellings() -> None:
    table = NameTable.build([(42, "阿依古丽·买买提")])
    assert table.matches(42, "阿依古丽・买买提") and table.matches(42, "阿依古丽买买提")
