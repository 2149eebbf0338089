"""Identifiers of subjects: resident ID numbers (GB 11643-1999), the residence permits and
permanent residence cards that share their layout, and unified social credit codes (GB 32100).

Every entry point normalises first (:func:`normalise_id`: NFKC, any Unicode decimal digit to
ASCII, upper case, no spaces or hyphens), so ``１１０１０５…`` and ``…002x`` read as the card
says. A diagnosis of our own then names exactly what is wrong (length, characters, birth date,
check character). Check character and birth date are strict; the address code is only checked
against every code GB/T 2260 has ever held (``domain/regions.py``), and an unknown one is a
warning carried on the result, not a rejection: a real card keeps the code of where it was
issued, whatever has happened to the county since. A 15-digit first-generation number is
converted to 18 digits, keeping the original. Every kind maps to a 64-bit integer key
(:func:`id_key`) used by bulk paths and the screening index: exact, collision-free, and
reversible for persons, so a key never has to be "confirmed" against another table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from socialcredit.domain.regions import PERMIT_REGIONS, province_known, region_known
from socialcredit.errors import InvalidIdentifier

RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RIC_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
# Bit 63 clear, bit 62 marks an enterprise key; persons' keys are < 10**17 < 2**57.
ENTERPRISE_BIT = 1 << 62
EARLIEST_BIRTH = dt.date(1880, 1, 1)
# The 2023 foreign permanent residence ID card: 9, province of issue (2), nationality (3),
# birth date, sequence, check character. No province code starts with 9.
FOREIGN_LEAD = "9"


class SubjectKind(StrEnum):
    PERSON = "person"
    ENTERPRISE = "enterprise"


class IdForm(StrEnum):
    """Which document an identifier is: persons hold one of the first three."""

    RESIDENT_ID = "resident_id"  # resident identity card, GB 11643
    RESIDENCE_PERMIT = "residence_permit"  # Hong Kong, Macao, Taiwan residents (810000...)
    FOREIGN_PERMANENT = "foreign_permanent_residence"  # 2023 card, leading 9
    CREDIT_CODE = "credit_code"  # unified social credit code, GB 32100


@dataclass(frozen=True)
class SubjectId:
    """A validated identifier, normalised (ASCII, upper case, no separators).

    ``original`` is a 15-digit first-generation number as it was given (``value`` is its
    18-digit form); ``warnings`` say what was accepted but is worth a look (a converted
    number, an address code GB/T 2260 never held). Neither takes part in equality.
    """

    value: str
    kind: SubjectKind
    original: str | None = field(default=None, compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def form(self) -> IdForm:
        """The document form, read off the value (so it cannot disagree with it)."""
        if self.kind is SubjectKind.ENTERPRISE:
            return IdForm.CREDIT_CODE
        return person_form(self.value)

    @property
    def birth_date(self) -> dt.date | None:
        if self.kind is not SubjectKind.PERSON:
            return None
        v = self.value
        return dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))

    @property
    def region_code(self) -> str:
        return self.value[0:6] if self.kind is SubjectKind.PERSON else self.value[2:8]

    @property
    def sex(self) -> str | None:
        if self.kind is not SubjectKind.PERSON:
            return None
        return "male" if int(self.value[16]) % 2 == 1 else "female"

    def age_on(self, day: dt.date) -> int | None:
        born = self.birth_date
        if born is None:
            return None
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def is_minor_on(self, day: dt.date) -> bool:
        age = self.age_on(day)
        return age is not None and age < 18

    @property
    def key(self) -> int:
        return id_key(self.value, self.kind)

    def __str__(self) -> str:
        return self.value


def _ascii_digits(v: str) -> str:
    """NFKC (full-width forms), then any other Unicode decimal digit (Arabic-Indic,
    Devanagari...) to its ASCII digit: NFKC leaves those alone."""
    v = unicodedata.normalize("NFKC", v)
    if v.isascii():
        return v
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in v)


def normalise_id(raw: str) -> str:
    """The form every identifier is read in: ASCII digits, upper case, no spaces or hyphens.

    ASCII input (nearly all of it) skips the Unicode work.
    """
    v = raw if raw.isascii() else _ascii_digits(raw)
    return v.replace(" ", "").replace("-", "").strip().upper()


def person_form(value: str) -> IdForm:
    """The form of a valid 18-character person's number."""
    if value.startswith(FOREIGN_LEAD):
        return IdForm.FOREIGN_PERMANENT
    if value[:6] in PERMIT_REGIONS:
        return IdForm.RESIDENCE_PERMIT
    return IdForm.RESIDENT_ID


def region_warning(value: str) -> str | None:
    """Why a valid person's number's address code is worth a look, or None."""
    if value.startswith(FOREIGN_LEAD):
        if province_known(value[1:3]):
            return None
        return f"province of issue {value[1:3]} has never been a GB/T 2260 province; accepted"
    if value[:6] in PERMIT_REGIONS or region_known(value[:6]):
        return None
    return f"region code {value[:6]} has never been a GB/T 2260 code; accepted"


def converted_warning(original: str, value: str) -> str:
    return f"first-generation 15-digit ID {original} converted to 18 digits: {value}"


def ric_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, RIC_WEIGHTS, strict=True))
    return RIC_CHECK[total % 11]


def upgrade_15(v: str) -> str:
    """The 18-digit form of a first-generation number: born 19YY, check character added."""
    first17 = v[:6] + "19" + v[6:15]
    return first17 + ric_check_char(first17)


def _digits(v: str) -> bool:
    # isdigit() alone is true of characters int() cannot read (Kharosthi numbers...)
    return v.isascii() and v.isdigit()


def _is_person18(v: str) -> bool:
    return len(v) == 18 and _digits(v[:17]) and (_digits(v[17]) or v[17] == "X")


def _bad(field: str, raw: str, v: str, reason: str) -> InvalidIdentifier:
    shown = raw.strip().upper().replace(" ", "").replace("-", "")
    read = f" (read as {v})" if v != shown else ""
    return InvalidIdentifier.one(field, reason + read, raw)


def _person(v: str, raw: str, field: str, today: dt.date | None) -> SubjectId:
    """A resident ID, residence permit or foreign permanent residence card, from ``v``
    (normalised; 15 or 18 characters)."""
    original = None
    if len(v) == 15:
        if not _digits(v):
            raise _bad(field, raw, v, "a first-generation resident ID is 15 digits")
        original, v = v, upgrade_15(v)
    if len(v) != 18:
        raise _bad(
            field,
            raw,
            v,
            f"a resident ID has 18 characters (15 if first-generation), this has {len(v)}",
        )
    if not _is_person18(v):
        raise _bad(field, raw, v, "a resident ID is 17 digits then a digit or X")
    try:
        born = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise _bad(field, raw, v, f"birth date {v[6:14]} is not a calendar date") from None
    limit = today or dt.date.today()
    if born < EARLIEST_BIRTH or born > limit:
        raise _bad(field, raw, v, f"birth date {born.isoformat()} is out of range")
    expected = ric_check_char(v[:17])
    if v[17] != expected:
        raise _bad(field, raw, v, f"check character is {v[17]}, expected {expected}")
    warnings = tuple(
        w
        for w in (converted_warning(original, v) if original else None, region_warning(v))
        if w is not None
    )
    return SubjectId(v, SubjectKind.PERSON, original, warnings)


def parse_resident_id(
    raw: str, field: str = "subject_id", today: dt.date | None = None
) -> SubjectId:
    """A person's number of any form; a birth date after ``today`` (default: the real
    today) is out of range."""
    return _person(normalise_id(raw), raw, field, today)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUE[c] * pow(3, i, 31) for i, c in enumerate(first17))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def parse_credit_code(raw: str, field: str = "subject_id") -> SubjectId:
    return _credit_code(normalise_id(raw), raw, field)


def _credit_code(v: str, raw: str, field: str) -> SubjectId:
    # GB 32100's own checks, all of them. Not ``stdnum.cn.uscc``: it wants the first two
    # characters to be digits, but the registration authority (the first) may be a letter,
    # A (the military's establishment office), N (agriculture: rural collective economic
    # organisations, N2/N3...) or Y (other), and such codes are issued (docs/decisions.md).
    if len(v) != 18:
        raise _bad(
            field, raw, v, f"a unified social credit code has 18 characters, this has {len(v)}"
        )
    wrong = sorted({c for c in v if c not in _USCC_VALUE})
    if wrong:
        raise _bad(
            field, raw, v, f"characters {''.join(wrong)!r} are not allowed (no I, O, S, V, Z)"
        )
    if not _digits(v[2:8]):
        raise _bad(field, raw, v, f"region code {v[2:8]} must be 6 digits")
    expected = uscc_check_char(v[:17])
    if v[17] != expected:
        raise _bad(field, raw, v, f"check character is {v[17]}, expected {expected}")
    warnings: tuple[str, ...] = ()
    if not region_known(v[2:8]):
        warnings = (f"region code {v[2:8]} has never been a GB/T 2260 code; accepted",)
    return SubjectId(v, SubjectKind.ENTERPRISE, None, warnings)


def parse_subject_id(
    raw: str, field: str = "subject_id", today: dt.date | None = None
) -> SubjectId:
    """Parse any kind: 17 digits + digit/X is a person's number (or else a credit code),
    so is anything of 15 characters (a first-generation card) or of digits but the wrong
    length; anything else a credit code."""
    v = normalise_id(raw)
    if len(v) == 15 or (len(v) != 18 and _digits(v[:-1])):
        return _person(v, raw, field, today)  # no credit code has 15 characters
    if _is_person18(v):
        # A credit code can also be 18 digits; its first char is a registration authority
        # (1-9, A-Y) and the 2nd an entity type, so try the person's number first and fall back.
        try:
            return _person(v, raw, field, today)
        except InvalidIdentifier as first:
            try:
                return _credit_code(v, raw, field)
            except InvalidIdentifier:
                raise first from None
    return _credit_code(v, raw, field)


def id_key(value: str, kind: SubjectKind) -> int:
    """A 64-bit key for a normalised identifier.

    A person's key is their 17 digits (exact and reversible: the 18th is a check character).
    An enterprise's 18 symbols do not fit in 63 bits (31**17 > 2**63), so its key is a 61-bit
    BLAKE2b digest with bit 62 set: it may speed a lookup but never decides one; callers that
    match enterprises confirm the full code.
    """
    if kind is SubjectKind.PERSON:
        return int(value[:17])
    digest = hashlib.blake2b(value.encode("ascii"), digest_size=8).digest()
    return ENTERPRISE_BIT | (int.from_bytes(digest, "big") & ((1 << 61) - 1))
