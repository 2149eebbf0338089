"""How the report writes numbers for people, and the ticks of its count axes."""

from __future__ import annotations

import pytest

from socialcredit.reports.formats import NBSP, cell, nice_ticks, percent, thousands


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (999, "999"),
        (1234567, "1,234,567"),
        ("237983864.11", "237,983,864.11"),  # an amount in yuan, as the figures give it
        ("1000.00", "1,000.00"),
        ("0.00", "0.00"),
        ("12000", "12,000"),
        (15.5, "15.5"),
        (1010.0, "1,010"),
        (998.456, "998.46"),
        (None, "\u2013"),
        ("flight", "flight"),
    ],
)
def test_thousands_separators(value: object, shown: str) -> None:
    assert thousands(value) == shown


@pytest.mark.parametrize(
    ("share", "shown"),
    [(1.0, "100"), (0.6667, "66.7"), (0.5, "50"), (0.0, "0"), (0.00004, "0"), (0.1234, "12.3")],
)
def test_shares_are_percentages(share: float, shown: str) -> None:
    assert percent(share) == f"{shown}{NBSP}%"


def test_no_share_is_a_dash_not_none() -> None:
    assert percent(None) == "\u2013"


def test_table_cells() -> None:
    assert cell("share within deadline", 1.0) == f"100{NBSP}%"
    assert cell("share within deadline", None) == ""
    assert cell("amount paid (yuan)", "237983864.11") == "237,983,864.11"
    assert cell("flight", 1492200) == "1,492,200"
    assert cell("month", "2025-01") == "2025-01"
    assert cell("region_code", "371082") == "371082"  # a code, not a number
    assert cell("mean score", 1010.0) == "1,010"


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (0, [0, 1]),  # an empty axis: not 0, 0.25, 0.5, 0.75, 1
        (1, [0, 1]),
        (2, [0, 1, 2]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (250, [0, 50, 100, 150, 200, 250]),  # not 62.5, 125, 187.5
        (1875, [0, 500, 1000, 1500, 2000]),  # not 1.875k
        (1955500, [0, 500_000, 1_000_000, 1_500_000, 2_000_000]),
        (0.4, [0, 1]),
    ],
)
def test_count_axes_have_whole_round_ticks(top: float, ticks: list[int]) -> None:
    assert nice_ticks(top) == ticks


@pytest.mark.parametrize("top", [1, 3, 9, 11, 99, 101, 12_345, 987_654_321, 237983864.11])
def test_ticks_cover_the_top_in_at_most_six_equal_round_steps(top: float) -> None:
    ticks = nice_ticks(top)
    step = ticks[1]
    assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 7
    assert all(isinstance(t, int) for t in ticks)
    assert all(b - a == step for a, b in zip(ticks, ticks[1:], strict=False))
    assert int(str(step).rstrip("0") or 0) in (1, 2, 5)
