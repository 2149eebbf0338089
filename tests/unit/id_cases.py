"""Identifiers met in the world (issue 16), shared by the domain and ingest tests, and
Hypothesis strategies that build valid numbers of each form."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from hypothesis import strategies as st

from socialcredit.domain.identity import IdForm, ric_check_char, uscc_check_char
from socialcredit.domain.regions import PERMIT_REGIONS, known_region_codes


def pid(first17: str) -> str:
    return first17 + ric_check_char(first17)


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


class Accepted(NamedTuple):
    raw: str
    value: str  # as the registry stores it
    form: IdForm
    warning: str | None = None  # a fragment of the one warning expected, if any
    original: str | None = None  # a converted first-generation number


ACCEPTED = {
    # Xiangcheng county 412723 was merged away in 2000; its numbers stay valid
    # (python-stdnum issue #442), whatever the holder's birth year.
    "412723 retired code": Accepted(
        pid("41272319800101001"), pid("41272319800101001"), IdForm.RESIDENT_ID
    ),
    "412723 born after": Accepted(
        pid("41272320050101002"), pid("41272320050101002"), IdForm.RESIDENT_ID
    ),
    # Shenzhen Nanshan (created 1990) issued to someone born in 1978.
    "440305 born 1978": Accepted(
        pid("44030519780615003"), pid("44030519780615003"), IdForm.RESIDENT_ID
    ),
    "Hong Kong permit": Accepted(
        pid("81000019900101001"), pid("81000019900101001"), IdForm.RESIDENCE_PERMIT
    ),
    "Macao permit": Accepted(
        pid("82000019900101002"), pid("82000019900101002"), IdForm.RESIDENCE_PERMIT
    ),
    "Taiwan permit": Accepted(
        pid("83000019900101003"), pid("83000019900101003"), IdForm.RESIDENCE_PERMIT
    ),
    # 9, issued in Beijing (11), nationality 840, born 1985-06-15, sequence 001.
    "foreign permanent residence": Accepted(
        "911840198506150011", "911840198506150011", IdForm.FOREIGN_PERMANENT
    ),
    "15-digit first generation": Accepted(
        "110105491231002",
        "11010519491231002X",
        IdForm.RESIDENT_ID,
        "first-generation 15-digit ID 110105491231002 converted to 18 digits",
        "110105491231002",
    ),
    "full-width": Accepted(
        "１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X", IdForm.RESIDENT_ID
    ),
    "full-width lower-case x": Accepted(
        "１１０１０５１９４９１２３１００２ｘ", "11010519491231002X", IdForm.RESIDENT_ID
    ),
    "Arabic-Indic digits": Accepted("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "11010519491231002X", IdForm.RESIDENT_ID),
    "Extended Arabic-Indic digits": Accepted(
        "۱۱۰۱۰۵۱۹۴۹۱۲۳۱۰۰۲x", "11010519491231002X", IdForm.RESIDENT_ID
    ),
    "lower-case x": Accepted("11010519491231002x", "11010519491231002X", IdForm.RESIDENT_ID),
    "ideographic space and full-width hyphen": Accepted(
        "110105　19491231－002X", "11010519491231002X", IdForm.RESIDENT_ID
    ),
    "never a GB/T 2260 code": Accepted(
        pid("00000019800101001"),
        pid("00000019800101001"),
        IdForm.RESIDENT_ID,
        "region code 000000 has never been a GB/T 2260 code",
    ),
    "credit code": Accepted("91110000600037341l", "91110000600037341L", IdForm.CREDIT_CODE),
    # A rural collective economic organisation: registration authority N (agriculture).
    "credit code, authority N": Accepted(
        uscc("N2110105MA0000001"), uscc("N2110105MA0000001"), IdForm.CREDIT_CODE
    ),
}

REJECTED = {
    "bad check character": ("110105194912310021", "check character is 1, expected X"),
    "30 February": (pid("11010519990230001"), "birth date 19990230 is not a calendar date"),
    "15-digit, 30 February": ("110105990230002", "birth date 19990230 is not a calendar date"),
    "15 characters, not digits": ("11010549123100X", "a first-generation resident ID is 15 digits"),
    # isdigit() but not decimal, and NFKC leaves them: int() cannot read them.
    "Kharosthi numbers": ("\U00010a40" * 15, "a first-generation resident ID is 15 digits"),
    "born in the future": (pid("11010520990101001"), "birth date 2099-01-01 is out of range"),
    "full-width, bad check": (
        "１１０１０５１９４９１２３１００２１",
        "expected X (read as 110105194912310021)",
    ),
}

# Generators of valid numbers ------------------------------------------------------------

_CODES = sorted(known_region_codes() - PERMIT_REGIONS)
_PROVINCES = sorted({c[:2] for c in known_region_codes() if c.endswith("0000")})
births = st.dates(dt.date(1900, 1, 1), dt.date(2008, 12, 31))
sequences = st.integers(0, 999).map(lambda n: f"{n:03d}")


def _ymd(d: dt.date) -> str:
    return d.strftime("%Y%m%d")


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    return pid(draw(st.sampled_from(_CODES)) + _ymd(draw(births)) + draw(sequences))


@st.composite
def residence_permits(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(sorted(PERMIT_REGIONS)))
    return pid(region + _ymd(draw(births)) + draw(sequences))


@st.composite
def foreign_permanent_cards(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(_PROVINCES))
    nationality = f"{draw(st.integers(1, 999)):03d}"
    return pid("9" + province + nationality + _ymd(draw(births)) + draw(sequences))


@st.composite
def first_generation_ids(draw: st.DrawFn) -> str:
    born = draw(st.dates(dt.date(1900, 1, 1), dt.date(1999, 12, 31)))
    return draw(st.sampled_from(_CODES)) + born.strftime("%y%m%d") + draw(sequences)


FORMS = {
    IdForm.RESIDENT_ID: resident_ids(),
    IdForm.RESIDENCE_PERMIT: residence_permits(),
    IdForm.FOREIGN_PERMANENT: foreign_permanent_cards(),
}

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")
