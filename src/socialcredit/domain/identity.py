"""Identifiers of subjects: resident ID numbers (GB 11643-1999) and unified social credit
codes (GB 32100-2015).

Both are validated with ``python-stdnum``; before that, a diagnosis of our own names exactly
what is wrong (length, characters, region code, birth date, check character) so that an
authority fixing a bad line knows where to look. Both kinds also map to a 64-bit integer key
(:func:`id_key`) used by bulk paths and the screening index: exact, collision-free, and
reversible, so a key never has to be "confirmed" against another table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from enum import StrEnum

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from socialcredit.errors import InvalidIdentifier

RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RIC_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
# Bit 63 clear, bit 62 marks an enterprise key; persons' keys are < 10**17 < 2**57.
ENTERPRISE_BIT = 1 << 62


class SubjectKind(StrEnum):
    PERSON = "person"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class SubjectId:
    """A validated identifier, normalised to upper case without separators."""

    value: str
    kind: SubjectKind

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


def _clean(raw: str) -> str:
    return raw.replace(" ", "").replace("-", "").strip().upper()


def _region_known(code: str, year: int | None) -> bool:
    results = numdb.get("cn/loc").info(code)
    info = {k: v for _part, props in results for k, v in props.items()}
    county = info.get("county")
    if not county:
        return False
    if year is None:
        return True
    for name in county.split(","):
        if not name.startswith("["):
            return True
        span = name[1:].split("]")[0]
        start, end = span.split("-")
        if (not start or year >= int(start)) and (not end or year <= int(end)):
            return True
    return False


def ric_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, RIC_WEIGHTS, strict=True))
    return RIC_CHECK[total % 11]


def parse_resident_id(raw: str, field: str = "subject_id") -> SubjectId:
    v = _clean(raw)

    def bad(reason: str) -> InvalidIdentifier:
        return InvalidIdentifier.one(field, reason, raw)

    if len(v) != 18:
        raise bad(f"a resident ID has 18 characters, this has {len(v)}")
    if not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        raise bad("a resident ID is 17 digits then a digit or X")
    try:
        born = dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise bad(f"birth date {v[6:14]} is not a calendar date") from None
    if born.year < 1880 or born > dt.date.today():
        raise bad(f"birth date {born.isoformat()} is out of range")
    if not _region_known(v[:6], born.year):
        raise bad(f"region code {v[:6]} is not a GB/T 2260 code in use in {born.year}")
    expected = ric_check_char(v[:17])
    if v[17] != expected:
        raise bad(f"check character is {v[17]}, expected {expected}")
    try:
        ric.validate(v)
    except ValidationError as e:  # belt and braces: stdnum is the reference
        raise bad(f"rejected by GB 11643 validation: {e}") from None
    return SubjectId(v, SubjectKind.PERSON)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUE[c] * pow(3, i, 31) for i, c in enumerate(first17))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def parse_credit_code(raw: str, field: str = "subject_id") -> SubjectId:
    v = _clean(raw)

    def bad(reason: str) -> InvalidIdentifier:
        return InvalidIdentifier.one(field, reason, raw)

    if len(v) != 18:
        raise bad(f"a unified social credit code has 18 characters, this has {len(v)}")
    wrong = sorted({c for c in v if c not in _USCC_VALUE})
    if wrong:
        raise bad(f"characters {''.join(wrong)!r} are not allowed (no I, O, S, V, Z)")
    if not v[2:8].isdigit():
        raise bad(f"region code {v[2:8]} must be 6 digits")
    if not _region_known(v[2:8], None):
        raise bad(f"region code {v[2:8]} is not a GB/T 2260 code")
    expected = uscc_check_char(v[:17])
    if v[17] != expected:
        raise bad(f"check character is {v[17]}, expected {expected}")
    try:
        uscc.validate(v)
    except ValidationError as e:
        raise bad(f"rejected by GB 32100 validation: {e}") from None
    return SubjectId(v, SubjectKind.ENTERPRISE)


def parse_subject_id(raw: str, field: str = "subject_id") -> SubjectId:
    """Parse either kind: 17 digits + digit/X is a resident ID, anything else a credit code."""
    v = _clean(raw)
    if len(v) == 18 and v[:17].isdigit() and (v[17].isdigit() or v[17] == "X"):
        # A credit code can also be 18 digits; its first char is a registration authority
        # (1-9, A-Y) and the 2nd an entity type, so try the resident ID first and fall back.
        try:
            return parse_resident_id(v, field)
        except InvalidIdentifier as first:
            try:
                return parse_credit_code(v, field)
            except InvalidIdentifier:
                raise first from None
    return parse_credit_code(v, field)


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
