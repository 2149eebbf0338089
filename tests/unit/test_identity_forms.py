"""Every form of a person's number (issue 16): the real-world table and properties over
generated valid numbers of each form."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.id_cases import (
    ACCEPTED,
    FORMS,
    FULL_WIDTH,
    REJECTED,
    Accepted,
    first_generation_ids,
    pid,
)

from socialcredit.domain.identity import (
    RIC_CHECK,
    IdForm,
    SubjectKind,
    id_key,
    normalise_id,
    parse_resident_id,
    parse_subject_id,
    ric_check_char,
)
from socialcredit.domain.regions import region_known, region_years
from socialcredit.errors import InvalidIdentifier


@pytest.mark.parametrize("case", ACCEPTED.values(), ids=list(ACCEPTED))
def test_real_world_numbers_are_accepted(case: Accepted) -> None:
    sid = parse_subject_id(case.raw)
    assert sid.value == case.value
    assert sid.form is case.form
    assert sid.original == case.original
    if case.warning is None:
        assert sid.warnings == ()
    else:
        (w,) = sid.warnings
        assert case.warning in w
    if case.form is not IdForm.CREDIT_CODE:
        assert sid.kind is SubjectKind.PERSON  # permits and foreign cards are individuals
        assert parse_resident_id(case.raw) == sid


@pytest.mark.parametrize(("raw", "fragment"), REJECTED.values(), ids=list(REJECTED))
def test_real_world_mistakes_say_what_and_where(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidIdentifier) as e:
        parse_subject_id(raw, field="legal_representative_id")
    (p,) = e.value.problems
    assert fragment in p.reason
    assert (p.field, p.value) == ("legal_representative_id", raw)


def test_retired_and_later_codes_are_in_the_shipped_table() -> None:
    assert region_years("412723") == "-2000"
    assert region_years("440305") == "1983-1989,1990-"
    assert region_known("110105") and not region_known("000000")


def test_birth_date_limit_follows_the_given_day() -> None:
    born_2026 = "11010520260301" + "001"
    raw = born_2026 + ric_check_char(born_2026)
    with pytest.raises(InvalidIdentifier, match="out of range"):
        parse_subject_id(raw, today=dt.date(2026, 2, 28))
    assert parse_subject_id(raw, today=dt.date(2026, 3, 1)).birth_date == dt.date(2026, 3, 1)


def test_foreign_card_parts() -> None:
    sid = parse_subject_id("911840198506150011")
    assert sid.birth_date == dt.date(1985, 6, 15) and sid.sex == "male"
    assert sid.key == 91184019850615001
    (w,) = parse_subject_id(pid("99984019850615001")).warnings  # issued in province 99?
    assert "province of issue 99 has never been a GB/T 2260 province" in w


@given(st.sampled_from(sorted(FORMS)).flatmap(lambda f: st.tuples(st.just(f), FORMS[f])))
def test_generated_numbers_round_trip(form_and_value: tuple[IdForm, str]) -> None:
    form, value = form_and_value
    sid = parse_subject_id(value)
    assert (sid.value, sid.kind, sid.form, sid.warnings) == (value, SubjectKind.PERSON, form, ())
    assert sid.birth_date == dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    # The key is the 17 digits: the number comes back from it with its check character.
    key = id_key(sid.value, sid.kind)
    assert f"{key:017d}" + ric_check_char(f"{key:017d}") == value
    # Full-width, lower-case, spaced: the same number.
    assert parse_subject_id(" " + value.translate(FULL_WIDTH) + " ").value == value
    assert normalise_id(value.lower()) == value


@given(st.sampled_from(sorted(FORMS)).flatmap(lambda f: FORMS[f]), st.integers(1, 10))
def test_any_other_check_character_is_rejected(value: str, shift: int) -> None:
    wrong = RIC_CHECK[(RIC_CHECK.index(value[17]) + shift) % 11]
    with pytest.raises(InvalidIdentifier, match=f"check character is {wrong}, expected"):
        parse_resident_id(value[:17] + wrong)


@given(first_generation_ids())
def test_first_generation_numbers_convert_to_18(old: str) -> None:
    sid = parse_subject_id(old)
    first17 = old[:6] + "19" + old[6:]
    assert sid.value == first17 + ric_check_char(first17)
    assert sid.original == old and sid.form is IdForm.RESIDENT_ID
    assert sid.birth_date is not None and sid.birth_date.year // 100 == 19
    assert "converted to 18 digits" in sid.warnings[0]
    # Converted, it is the same subject as its 18-digit form.
    assert parse_subject_id(sid.value) == sid
