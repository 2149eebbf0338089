"""The report's records cut into parts in Python go where SQL's parts put them."""

from __future__ import annotations

import numpy as np
import pytest

from socialcredit.reports.parts import part
from socialcredit.reports.record_parts import _part_of, subject_bytes
from socialcredit.reports.records import _subject_numbers, subject_numbers

PARTS = [part(None, "25"), part("25", "50"), part("50", "75"), part("75", None)]
IDS = [
    "110105198001010111",
    "11010519800101250X",  # on a bound
    "110105198001012499",
    "11010519800101499X",
    "110105198001015000",
    "110105198001017500",
    "11010519800109999X",
    "91110000600037341L",  # a credit code
    "110105198001012",  # shorter: substr gives one character
    "11010519800101",  # nothing at 15
    "1101051980010175",  # exactly 16
    "110105198001012500EXTRA",  # longer than 18
]


def sql_part(subject_id: str) -> int:
    """The part whose ``substr(subject_id, 15, 2)`` bounds hold the identifier, as text."""
    key = subject_id[14:16]
    return next(
        i
        for i, q in enumerate(PARTS)
        if (q.lo is None or key >= q.lo) and (q.hi is None or key < q.hi)
    )


def test_each_subject_goes_to_the_part_sql_puts_it_in() -> None:
    got = _part_of(subject_bytes(IDS), PARTS).tolist()
    assert got == [sql_part(s) for s in IDS]
    assert set(got) == {0, 1, 2, 3}


def test_subject_numbers_are_those_of_load_records() -> None:
    ids = [*IDS, IDS[0], "110105198001012500"]  # a repeat, and one equal once cut at 18
    from_bytes = subject_numbers(subject_bytes(ids))
    from_list = _subject_numbers([x.encode("ascii") for x in ids])
    assert from_bytes.tolist() == from_list.tolist()
    assert from_bytes[len(IDS)] == from_bytes[0]
    assert from_bytes[-1] == from_bytes[len(IDS) - 1]


def test_parts_must_follow_each_other() -> None:
    with pytest.raises(ValueError, match="follow each other"):
        _part_of(subject_bytes(IDS), [PARTS[0], part(None, "50")])


def test_identifiers_must_be_ascii() -> None:
    with pytest.raises(UnicodeEncodeError):
        subject_bytes(["11010519800101001é"])
    assert subject_bytes([]).shape == (0,)
    assert np.array_equal(_part_of(subject_bytes([]), PARTS), np.zeros(0, np.intp))
