"""Per-line validation over whole columns; every problem carries line, field and reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.domain.identity import (
    SubjectKind,
    parse_subject_id,
)
from socialcredit.domain.records import WITHDRAWAL_REASONS
from socialcredit.domain.rules import RulePack
from socialcredit.errors import InvalidIdentifier, Problem
from socialcredit.registry.ingest.fields import (
    AMOUNT_RE,
    DATE_RE,
    EVENTS,
    FIELDS,
    RECORD_FIELDS,
    BoolArray,
    IntArray,
    Parsed,
    as_np,
)
from socialcredit.registry.ingest.identifiers import Ids, check_ids


class Checker:
    """Collects problems per row and marks the rows that are bad."""

    def __init__(self, lines: IntArray) -> None:
        self.lines = lines
        self.bad = np.zeros(len(lines), dtype=np.bool_)
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []  # accepted as given, but worth a look

    def flag(
        self,
        mask: BoolArray,
        field: str,
        reason: str | Callable[[int], str],
        values: pa.Array | None = None,
    ) -> None:
        for i in np.flatnonzero(mask):
            value = None if values is None else values[int(i)].as_py()
            why = reason if isinstance(reason, str) else reason(int(i))
            self.problems.append(Problem(field, why, value, int(self.lines[i])))
        self.bad |= mask

    def add(self, i: int, field: str, reason: str, value: str | None = None) -> None:
        self.problems.append(Problem(field, reason, value, int(self.lines[i])))
        self.bad[i] = True

    def warn(self, i: int, field: str, reason: str, value: str | None = None) -> None:
        self.warnings.append(Problem(field, reason, value, int(self.lines[i])))


def _missing(arr: pa.Array) -> BoolArray:
    return np.asarray(as_np(pc.fill_null(pc.equal(pc.utf8_length(arr), 0), True)), dtype=np.bool_)


def _member(arr: pa.Array, values: Iterable[str]) -> BoolArray:
    """Which values of a string column are in ``values`` (null: not), in Arrow's hash join."""
    found = pc.is_in(arr, value_set=pa.array(sorted(values), pa.string()))
    return np.asarray(as_np(pc.fill_null(found, False)), dtype=np.bool_)


def _dates(arr: pa.Array, chk: Checker, field: str, today: dt.date) -> IntArray:
    """Days since 1970 for valid ISO dates (-1 where missing or bad; bad ones flagged).

    A file has few distinct dates: each is parsed once, then mapped back to its rows.
    """
    enc = pc.dictionary_encode(arr)
    words = enc.dictionary
    shaped = as_np(pc.fill_null(pc.match_substring_regex(words, DATE_RE), False))
    parsed = pc.strptime(words, format="%Y-%m-%d", unit="s", error_is_null=True)
    same = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), words)
    good_word = shaped & as_np(pc.fill_null(same, False))
    as_days = as_np(pc.fill_null(pc.cast(pc.cast(parsed, pa.date32()), pa.int32()), -1))
    at = as_np(pc.fill_null(enc.indices, len(words))).astype(np.int64)
    good = np.append(good_word, False)[at]
    days = np.where(good, np.append(as_days, -1).astype(np.int64)[at], -1)
    present = ~_missing(arr)
    chk.flag(present & ~good, field, "must be a real date written YYYY-MM-DD", arr)
    limit = (today - dt.date(1970, 1, 1)).days
    chk.flag(good & (days > limit), field, f"is in the future (today is {today.isoformat()})", arr)
    return days


def _settle(
    ids: Ids,
    raw: pa.Array,
    need: BoolArray,
    chk: Checker,
    field: str,
    today: dt.date,
    person_only: bool = False,
) -> None:
    """The domain parser's word on the rows the vectorised check could not settle: those it
    rejected (diagnosed, or valid after all: an all-digit credit code, a 15-digit
    first-generation number it converts) and those it accepted with a warning."""
    fixed: dict[int, str] = {}
    for i in np.flatnonzero(need & (~ids.ok | ids.warn)).tolist():
        given = raw[i].as_py()
        try:
            sid = parse_subject_id(given, field, today)
        except InvalidIdentifier as e:
            chk.add(i, field, e.problems[0].reason if e.problems else e.message, given)
            ids.ok[i] = ids.person[i] = False
            continue
        if person_only and sid.kind is not SubjectKind.PERSON:
            chk.add(i, field, "must be a resident ID number", given)
            ids.ok[i] = ids.person[i] = False
            continue
        ids.ok[i] = True
        ids.person[i] = sid.kind is SubjectKind.PERSON
        born = sid.birth_date
        ids.birth[i] = 0 if born is None else born.year * 10000 + born.month * 100 + born.day
        if sid.value != ids.value[i].as_py():
            fixed[i] = sid.value
        for w in sid.warnings:
            chk.warn(i, field, w, given)
    if fixed:
        values = ids.value.to_pylist()
        for i, value in fixed.items():
            values[i] = value
        ids.value = pa.array(values, pa.string())


@dataclass
class Validated:
    table: pa.Table
    event: npt.NDArray[Any]
    ids: Ids
    rep: Ids
    ext: IntArray
    decision: IntArray
    event_day: IntArray
    chk: Checker


def validate(
    parsed: Parsed, pack: RulePack, authorities: dict[str, frozenset[str]], today: dt.date
) -> Validated:
    t = parsed.table
    n = t.num_rows
    chk = Checker(parsed.lines)
    null = pa.nulls(n, pa.string())
    cols = {
        f: (pc.utf8_trim_whitespace(t.column(f).combine_chunks()) if f in t.column_names else null)
        for f in FIELDS
    }
    cols["event"] = pc.fill_null(pc.utf8_lower(cols["event"]), "listed")
    cols["event"] = pc.if_else(pc.equal(cols["event"], ""), "listed", cols["event"])
    event = as_np(cols["event"])
    known_event = _member(cols["event"], EVENTS)
    chk.flag(~known_event, "event", f"must be one of {', '.join(EVENTS)}", cols["event"])
    is_listed = _member(cols["event"], ("listed",))
    is_rec = is_listed | _member(cols["event"], ("corrected",))
    miss = {f: _missing(cols[f]) for f in FIELDS}
    chk.flag(miss["authority"], "authority", "is required")
    chk.flag(miss["case_number"], "case_number", "is required")
    for f in RECORD_FIELDS:
        chk.flag(is_rec & miss[f], f, "is required for listed and corrected lines")
    chk.flag(
        known_event & ~is_listed & miss["event_date"],
        "event_date",
        "is required for events other than listed",
    )
    decision = _dates(cols["decision_date"], chk, "decision_date", today)
    event_day = _dates(cols["event_date"], chk, "event_date", today)
    chk.flag(
        is_listed & (event_day >= 0) & (decision >= 0) & (event_day != decision),
        "event_date",
        "for a listed line the event date is the decision date",
        cols["event_date"],
    )
    event_day = np.where(is_listed, decision, event_day)

    auth = cols["authority"]
    known_auth = _member(auth, authorities)
    chk.flag(~miss["authority"] & ~known_auth, "authority", "is not a registered authority", auth)

    ids = check_ids(cols["subject_id"], today)
    need_id = is_rec & ~miss["subject_id"]
    _settle(ids, cols["subject_id"], need_id, chk, "subject_id", today)
    ids.person &= ids.ok
    # Minors are never listed: under 18 on the decision date (yyyymmdd arithmetic).
    has_dec = need_id & ids.person & (decision >= 0)
    minor = has_dec & (_ymd(decision) - ids.birth < 180000)
    chk.flag(
        minor,
        "subject_id",
        "the subject was a minor on the decision date; minors are never listed",
        cols["subject_id"],
    )

    cat = cols["category"]
    known_cat = _member(cat, pack.categories)
    chk.flag(
        is_rec & ~miss["category"] & ~known_cat,
        "category",
        "is not a category of the rule pack",
        cat,
    )
    ok_pairs = {f"{a}\x1f{c}" for a, cats in authorities.items() for c in cats}
    allowed = _member(pc.binary_join_element_wise(auth, cat, "\x1f"), ok_pairs)
    chk.flag(
        is_rec & known_auth & known_cat & ~allowed,
        "category",
        lambda i: f"authority {auth[i].as_py()} may not submit this category",
        cat,
    )
    persons_ok = [c for c, v in pack.categories.items() if "person" in v.subject_kinds]
    ents_ok = [c for c, v in pack.categories.items() if "enterprise" in v.subject_kinds]
    kind_ok = np.where(ids.person, _member(cat, persons_ok), _member(cat, ents_ok))
    chk.flag(
        is_rec & known_cat & ids.ok & ~kind_ok,
        "category",
        lambda i: (
            f"this category does not apply to a {'person' if ids.person[i] else 'enterprise'}"
        ),
        cat,
    )

    ext_raw = cols["extension_years"]
    ext_shape = as_np(pc.fill_null(pc.match_substring_regex(ext_raw, r"^[0-9]{1,2}$"), False))
    chk.flag(
        ~miss["extension_years"] & ~ext_shape,
        "extension_years",
        "must be a whole number of years",
        ext_raw,
    )
    ext = np.where(
        ext_shape, as_np(pc.cast(pc.if_else(pa.array(ext_shape), ext_raw, "0"), pa.int64())), 0
    ).astype(np.int64)
    cat_ids = list(pack.categories)
    max_of = np.array(
        [pack.categories[c].term.extension_max_years for c in cat_ids] + [0], dtype=np.int64
    )
    at = pc.index_in(cat, value_set=pa.array(cat_ids, pa.string()))
    ext_max = max_of[as_np(pc.fill_null(at, len(cat_ids))).astype(np.int64)]
    chk.flag(
        is_rec & known_cat & (ext > ext_max),
        "extension_years",
        lambda i: f"at most {ext_max[i]} for this category",
        ext_raw,
    )

    amt = cols["amount_owed"]
    amt_ok = as_np(pc.fill_null(pc.match_substring_regex(amt, AMOUNT_RE), False))
    negative = as_np(pc.fill_null(pc.starts_with(amt, "-"), False))
    chk.flag(~miss["amount_owed"] & negative, "amount_owed", "must be >= 0", amt)
    chk.flag(
        ~miss["amount_owed"] & ~negative & ~amt_ok,
        "amount_owed",
        "must be a decimal amount in yuan, at most 2 decimal places",
        amt,
    )

    rep = check_ids(cols["legal_representative_id"], today)
    has_rep = is_rec & ~miss["legal_representative_id"]
    rep_raw = cols["legal_representative_id"]
    rep.ok &= rep.person | ~has_rep  # a credit code there is settled (rejected) below
    _settle(rep, rep_raw, has_rep, chk, "legal_representative_id", today, person_only=True)
    rep.person &= rep.ok
    chk.flag(
        has_rep & ids.ok & ids.person,
        "legal_representative_id",
        "only an enterprise has a legal representative",
        cols["legal_representative_id"],
    )

    is_wd = event == "withdrawn"
    reason = cols["reason"]
    reason_ok = _member(reason, WITHDRAWAL_REASONS)
    chk.flag(
        is_wd & ~reason_ok,
        "reason",
        f"a withdrawal needs one of {', '.join(sorted(WITHDRAWAL_REASONS))}",
        reason,
    )
    table = pa.table([cols[f] for f in FIELDS], names=list(FIELDS))
    table = table.set_column(FIELDS.index("subject_id"), "subject_id", ids.value)
    table = table.set_column(
        FIELDS.index("legal_representative_id"), "legal_representative_id", rep.value
    )
    return Validated(table, event, ids, rep, ext, decision, event_day, chk)


def _ymd(days: IntArray) -> IntArray:
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return np.asarray(y * 10000 + m * 100 + day, dtype=np.int64)
