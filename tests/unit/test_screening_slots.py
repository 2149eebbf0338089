"""The key table under the index: every key found with its value, nothing else found."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.screening.slots import EMPTY, SMALL, KeySlots

keysets = st.sets(st.integers(0, EMPTY - 1), max_size=2000)


@settings(max_examples=100, deadline=None)
@given(keysets, st.sets(st.integers(0, EMPTY - 1), max_size=200))
def test_lookup_finds_exactly_the_keys(keys: set[int], probes: set[int]) -> None:
    ks = np.array(sorted(keys), dtype=np.uint64)
    vals = (np.arange(len(ks)) % 60_000).astype(np.uint16)
    table = KeySlots.build(ks, vals)
    want = dict(zip(ks.tolist(), vals.tolist(), strict=True))
    q = np.array(sorted(keys | probes), dtype=np.uint64)
    got = table.lookup(q)
    assert got.tolist() == [want.get(k, -1) for k in q.tolist()]
    assert [table.lookup_one(k) for k in q.tolist()] == got.tolist()
    back_keys, back_vals = table.items()
    assert dict(zip(back_keys.tolist(), back_vals.tolist(), strict=True)) == want


def test_crowded_tables_spill_to_further_levels_and_still_answer() -> None:
    rng = np.random.default_rng(7)
    # structured like person keys: region * 10**11 + birth date * 1000 + sequence
    n = 50_000
    keys = np.unique(
        rng.integers(110000, 659000, n).astype(np.uint64) * np.uint64(10**11)
        + rng.integers(19500101, 20081231, n).astype(np.uint64) * np.uint64(1000)
        + rng.integers(0, 1000, n).astype(np.uint64)
    )
    vals = np.arange(len(keys), dtype=np.uint32)
    table = KeySlots.build(keys, vals)
    assert len(table.levels) >= 2 and len(keys) > SMALL
    assert (table.lookup(keys) == vals).all()
    misses = keys + np.uint64(1)
    expected = np.where(np.isin(misses, keys), np.searchsorted(keys, misses), -1)
    assert (table.lookup(misses) == expected).all()


def test_duplicates_and_reserved_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        KeySlots.build(np.array([5, 5], dtype=np.uint64), np.zeros(2, np.uint16))
    with pytest.raises(ValueError, match="below"):
        KeySlots.build(np.array([EMPTY], dtype=np.uint64), np.zeros(1, np.uint16))


def test_empty_table() -> None:
    table = KeySlots.build(np.array([], dtype=np.uint64), np.array([], dtype=np.uint16))
    assert table.lookup(np.array([1, 2], dtype=np.uint64)).tolist() == [-1, -1]
    assert table.lookup_one(1) == -1
