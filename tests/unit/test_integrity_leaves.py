"""Leaf payloads: canonical, and the same bytes whether built one row or one batch at a time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.integrity.leaves import leaf_payload, leaf_payloads

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**62), 2**62),
    st.text(max_size=20),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.binary(max_size=8),
    st.lists(st.text(max_size=4), max_size=3),
)


def test_a_payload_is_kind_then_sorted_compact_json() -> None:
    row = {"b": "乙", "a": dt.date(2026, 4, 1), "c": Decimal("12.50"), "d": None, "e": b"\x01"}
    assert leaf_payload("record", row) == (
        b'record\n{"a":"2026-04-01","b":"\xe4\xb9\x99","c":"12.50","d":null,"e":"01"}'
    )


def test_an_aware_time_is_logged_as_the_naive_utc_the_store_keeps() -> None:
    aware = dt.datetime(2026, 4, 1, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert leaf_payload("x", {"t": aware}) == leaf_payload("x", {"t": dt.datetime(2026, 4, 1, 9)})


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.dictionaries(st.sampled_from("abcdef"), VALUES, min_size=6, max_size=6), max_size=6)
)
def test_a_batch_gives_the_bytes_of_its_rows_one_by_one(rows: list[dict[str, object]]) -> None:
    rows = [r for r in rows if len(r) == 6]
    columns = {k: [r[k] for r in rows] for k in "abcdef"}
    assert leaf_payloads("record", columns) == [leaf_payload("record", r) for r in rows]


def test_equal_values_that_encode_differently_are_not_confused() -> None:
    columns = {
        "a": [1, True, 1.0, 0.0, -0.0],
        "b": [Decimal("1.5"), Decimal("1.50"), Decimal("1.500"), 2, False],
    }
    rows = [dict(zip(columns, vals, strict=True)) for vals in zip(*columns.values(), strict=True)]
    assert leaf_payloads("x", columns) == [leaf_payload("x", r) for r in rows]
