import datetime as dt

import pytest

from socialcredit.domain.identity import (
    ENTERPRISE_BIT,
    SubjectKind,
    parse_credit_code,
    parse_resident_id,
    parse_subject_id,
    ric_check_char,
    uscc_check_char,
)
from socialcredit.errors import InvalidIdentifier


def test_valid_examples_from_the_standard() -> None:
    a = parse_resident_id("11010519491231002X")
    assert a.kind is SubjectKind.PERSON
    assert a.birth_date == dt.date(1949, 12, 31)
    assert a.sex == "female"
    assert a.region_code == "110105"
    b = parse_resident_id("360426199101010071")
    assert b.sex == "male"
    c = parse_credit_code("91110000600037341L")
    assert c.kind is SubjectKind.ENTERPRISE
    assert c.birth_date is None
    assert c.region_code == "110000"


def test_parse_normalises_case_and_separators() -> None:
    assert parse_subject_id(" 11010519491231002x ").value == "11010519491231002X"
    assert parse_subject_id("91110000600037341l").kind is SubjectKind.ENTERPRISE


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("1101051949123100", "18 characters (15 if first-generation), this has 16"),
        ("11010519491231002Y", "17 digits then a digit or X"),
        ("11010519491331002X", "birth date 19491331 is not a calendar date"),
        ("99999919491231002X", "check character is X, expected 5"),  # region: a warning
        ("110105194912310021", "check character is 1, expected X"),
    ],
)
def test_resident_id_errors_name_what_is_wrong(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidIdentifier) as e:
        parse_resident_id(raw, field="subject_id")
    assert fragment in e.value.message
    assert e.value.problems[0].field == "subject_id"
    assert e.value.problems[0].value == raw


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("91110000600037341", "18 characters"),
        ("91110000600037341O", "not allowed"),
        ("9111000060003734IL", "not allowed"),
        ("91110000600037341M", "expected L"),
        ("91AB0000600037341L", "region code AB0000"),
    ],
)
def test_credit_code_errors_name_what_is_wrong(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidIdentifier) as e:
        parse_credit_code(raw)
    assert fragment in e.value.message


@pytest.mark.parametrize("first17", ["N2110105MA0000001", "A1110000600037341", "Y1440300MA5D12345"])
def test_credit_codes_of_registration_authorities_with_a_letter_are_valid(first17: str) -> None:
    # GB 32100's first character is the registration authority, 1-9, A, N or Y: rural
    # collective economic organisations hold N2... codes. stdnum rejected them (digits only).
    code = first17 + uscc_check_char(first17)
    assert parse_credit_code(code).value == code
    assert parse_subject_id(code.lower()).kind is SubjectKind.ENTERPRISE
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    with pytest.raises(InvalidIdentifier, match="check character"):
        parse_credit_code(wrong)


def test_minor_on_a_date() -> None:
    sid = parse_resident_id("11010520080301" + "002" + ric_check_char("11010520080301002"))
    assert sid.is_minor_on(dt.date(2026, 2, 28))
    assert not sid.is_minor_on(dt.date(2026, 3, 1))
    assert not parse_credit_code("91110000600037341L").is_minor_on(dt.date(2026, 1, 1))


def test_keys_are_exact_for_persons_and_marked_for_enterprises() -> None:
    p = parse_resident_id("11010519491231002X")
    assert p.key == 11010519491231002
    e = parse_credit_code("91110000600037341L")
    assert e.key & ENTERPRISE_BIT
    assert e.key < 2**63
    assert uscc_check_char("91110000600037341") == "L"
