import datetime as dt
from pathlib import Path

import pytest

from socialcredit.domain.calendar import WorkCalendar
from socialcredit.errors import InvalidInput
from socialcredit.store.calendar_source import packaged_calendar, parse_calendar_file

D = dt.date


def test_national_day_holiday_and_adjusted_workday() -> None:
    cal = packaged_calendar()
    assert not cal.is_workday(D(2026, 10, 1))
    assert cal.is_workday(D(2026, 10, 10))  # a Saturday made a workday
    # Mon 28 Sep + 7 working days crosses the Golden Week: 29, 30 Sep, 8, 9, 10, 12, 13 Oct
    got = cal.add_working_days(D(2026, 9, 28), 7)
    assert got.day == D(2026, 10, 13)
    assert got.weekday_only_years == frozenset()


def test_monthly_publication_is_the_first_working_day() -> None:
    cal = packaged_calendar()
    assert cal.next_monthly_publication(D(2026, 9, 20)).day == D(2026, 10, 8)
    assert cal.is_workday(D(2026, 1, 4))  # a Sunday made a workday, but January's list is
    assert cal.next_monthly_publication(D(2025, 12, 31)).day == D(2026, 1, 4)  # the next day


@pytest.mark.parametrize(
    ("decided", "published"),
    [
        # Decided on a month's first working day: published next month, never the same day
        # (May 2026's first working day follows the 1-5 May holiday).
        (D(2026, 4, 1), D(2026, 5, 6)),
        # Decided on the Sunday before March's first working day (Monday 2 March): April 1st.
        (D(2026, 3, 1), D(2026, 4, 1)),
        (D(2026, 1, 1), D(2026, 2, 2)),  # a holiday, before 4 January's make-up workday
        (D(2026, 4, 30), D(2026, 5, 6)),
        (D(2026, 5, 6), D(2026, 6, 1)),
    ],
)
def test_publication_is_in_a_month_strictly_after_the_decision(
    decided: dt.date, published: dt.date
) -> None:
    got = packaged_calendar().next_monthly_publication(decided)
    assert got.day == published
    assert got.day > decided and got.day.day <= 8  # the first working day of a later month


def test_unknown_year_counts_weekdays_and_says_so() -> None:
    cal = packaged_calendar()
    got = cal.add_working_days(D(2027, 9, 27), 7)
    assert got.day == D(2027, 10, 6)
    assert got.weekday_only_years == frozenset({2027})


def test_operator_loads_a_newly_announced_year(tmp_path: Path) -> None:
    f = tmp_path / "2027.yaml"
    f.write_text(
        "year: 2027\nholidays: [2027-10-01, 2027-10-04, 2027-10-05, 2027-10-06, 2027-10-07]\n"
        "workdays: [2027-09-26, 2027-10-09]\n"
    )
    cal = packaged_calendar().merged(parse_calendar_file(f))
    got = cal.add_working_days(D(2027, 9, 27), 7)
    assert got.weekday_only_years == frozenset()
    assert got.day == D(2027, 10, 12)  # 28, 29, 30 Sep, 8, 9 (a Saturday workday), 11, 12 Oct


def test_calendar_file_errors_name_the_field(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("year: 2027\nholidays: [2027-13-01]\nworkdays: [2027-10-04]\n")
    with pytest.raises(InvalidInput) as e:
        parse_calendar_file(f)
    fields = {p.field for p in e.value.problems}
    assert fields == {"holidays[0]", "workdays[0]"}


def test_empty_calendar_is_weekdays() -> None:
    cal = WorkCalendar()
    assert cal.is_workday(D(2026, 10, 1))
    assert not cal.is_workday(D(2026, 10, 3))
