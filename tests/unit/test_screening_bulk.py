"""Memoised bulk assessment (screening/bulk.py) gives exactly the direct engine's entries.

The memo is keyed by the *shape* of a subject's history. Two things are held here: for random
multi-record histories (persons and enterprises, legal representatives bound, minors, every
event type, corrections, rail repeat offences, suspended and resumed starts, years the
calendar does not know) the memoised entries equal ``assess`` + ``entry_for`` /
``benefit_entry``, also for a renamed copy served from the memo; and flipping any one input
the engine reads gives another key, so no two different histories can share an answer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.domain.calendar import WorkCalendar
from socialcredit.domain.identity import (
    SubjectId,
    SubjectKind,
    parse_subject_id,
    ric_check_char,
    uscc_check_char,
)
from socialcredit.domain.records import EventType, Record, RecordEvent
from socialcredit.domain.restrictions import assess
from socialcredit.errors import InvalidInput
from socialcredit.rulepacks import load_rulepack
from socialcredit.screening import Schema, entry_for
from socialcredit.screening.benefits import benefit_entry, benefit_schema
from socialcredit.screening.bulk import (
    PARSE_BULK_MIN,
    BulkAssessor,
    _shape_of_many,
    _shape_of_one,
    collector_paused,
    parse_many,
    shape_of,
)
from socialcredit.screening.stored_ids import parse_stored
from socialcredit.store.calendar_source import packaged_calendar

D = dt.date
PACK = load_rulepack()
SCHEMA, BSCHEMA = Schema.from_pack(PACK), benefit_schema(PACK)
CALENDARS = [packaged_calendar(), WorkCalendar()]  # the second knows no year: weekdays only
CATEGORIES = sorted(PACK.categories)
RAIL = sorted(c for c in CATEGORIES if PACK.categories[c].term.repeat is not None)
days = st.dates(min_value=D(2025, 1, 1), max_value=D(2026, 12, 31))


def person(born: dt.date, seq: int) -> SubjectId:
    first = "110105" + born.strftime("%Y%m%d") + f"{seq:03d}"
    return parse_subject_id(first + ric_check_char(first))


def firm(i: int) -> SubjectId:
    first = f"91110000{600037340 + i:09d}"
    return parse_subject_id(first + uscc_check_char(first))


@st.composite
def histories(draw: st.DrawFn) -> tuple[SubjectId, list[RecordEvent], dt.date]:
    """A subject, the events the store would give for it (its own records, enterprise
    records naming it or someone else legal representative, anyone's records), and a day."""
    born = draw(st.dates(D(1950, 1, 1), D(2015, 12, 31)))  # minors on some decision dates
    subject = draw(st.sampled_from([person(born, 7), firm(1)]))
    others = [subject.value, person(D(1980, 5, 5), 9).value, firm(2).value]
    spree = draw(st.booleans())  # rail records paid one after another: repeat offences
    about_whom = st.sampled_from([subject.value] * 3 + others)  # mostly its own records
    common = ["court.defaulter.refuses", "redlist.a_grade_taxpayer", "air.false_documents"]
    kinds = st.sampled_from(RAIL if spree else [*CATEGORIES, *common * 4, "no.such"])
    anchor = draw(days)  # records close together: rail repeats, objections in time
    events: list[RecordEvent] = []
    seq = draw(st.integers(0, 3))

    def record(i: int, base: Record | None = None) -> Record:
        about = draw(about_whom)
        return Record(
            draw(st.sampled_from(["A", "B"])) if base is None else base.authority,
            f"C{i}" if base is None else base.case_number,
            draw(kinds),
            about,
            "name",
            anchor + dt.timedelta(days=draw(st.integers(0, 150))),
            "basis",
            extension_years=draw(st.integers(0, 6)),
            legal_representative_id=draw(st.sampled_from([None, subject.value, *others])),
        )

    for i in range(draw(st.integers(1, 6))):
        r = record(draw(st.integers(0, 6)))
        events.append(RecordEvent(r.ref, EventType.LISTED, r.decision_date, r, seq=seq))
        seq += draw(st.integers(0, 2))  # equal seqs happen (listings and events count apart)
        later_kinds = draw(st.lists(st.sampled_from(list(EventType)), max_size=3))
        for kind in [EventType.FULFILLED, *later_kinds] if spree else later_kinds:
            later = draw(st.one_of(st.integers(-3, 40), st.integers(-20, 500)))
            when = r.decision_date + dt.timedelta(days=later)
            data = record(i, r) if kind in (EventType.CORRECTED, EventType.LISTED) else None
            events.append(RecordEvent(r.ref, kind, when, data, reason="other", seq=seq))
            seq += draw(st.integers(0, 2))
    on = anchor + dt.timedelta(days=draw(st.integers(-10, 800)))
    return subject, draw(st.permutations(events)), on


def renamed(subject: SubjectId, events: list[RecordEvent]) -> tuple[SubjectId, list[RecordEvent]]:
    """The same history under other IDs, names and case numbers (order kept)."""
    if subject.kind is SubjectKind.PERSON:
        assert subject.birth_date is not None
        other = person(subject.birth_date, 8)
    else:
        other = firm(3)
    ids = {subject.value: other.value}

    def rid(v: str | None) -> str | None:
        return None if v is None else ids.setdefault(v, f"X{v}")

    def rrec(r: Record | None) -> Record | None:
        if r is None:
            return None
        return dataclasses.replace(
            r,
            case_number="Z" + r.case_number,
            subject_id=rid(r.subject_id) or "",
            subject_name="another name",
            legal_basis="another basis",
            legal_representative_id=rid(r.legal_representative_id),
        )

    out = [
        dataclasses.replace(
            e,
            ref=dataclasses.replace(e.ref, case_number="Z" + e.ref.case_number),
            record=rrec(e.record),
            reason=None,
        )
        for e in events
    ]
    return other, out


def direct(subject: SubjectId, events: list[RecordEvent], on: dt.date, cal: WorkCalendar) -> object:
    a = assess(subject, events, PACK, on, cal)
    return entry_for(a, SCHEMA, subject), benefit_entry(a, BSCHEMA, subject)


History = tuple[SubjectId, list[RecordEvent], dt.date]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(histories(), min_size=1, max_size=4), st.sampled_from(CALENDARS))
def test_memoised_entries_equal_the_engines(hs: list[History], cal: WorkCalendar) -> None:
    on = hs[0][2]  # one assessor, one day: the others' histories seen from it
    bulk = BulkAssessor(PACK, cal, on, SCHEMA, BSCHEMA)
    for subject, events, _ in hs:
        assert bulk.entries(subject, events) == direct(subject, events, on, cal)
        runs = bulk.misses
        other, copy = renamed(subject, events)
        assert shape_of(other, copy, on) == shape_of(subject, events, on)
        assert bulk.entries(other, copy) == direct(other, copy, on, cal)
        assert bulk.misses == runs  # the copy came from the memo


@settings(max_examples=400, deadline=None)
@given(histories())
def test_one_event_shortcut_gives_the_general_key(h: History) -> None:
    subject, events, on = h
    for e in events:
        assert _shape_of_one(subject, e, on) == _shape_of_many(subject, [e], on)


# --- every input the engine reads is in the key -----------------------------------------

ADULT = person(D(1990, 1, 1), 7)
FIRM = firm(1)
DECIDED = D(2026, 3, 2)
ON = D(2026, 6, 1)


def own(**kw: object) -> Record:
    base = Record("A", "C1", "rail.fare_evasion", ADULT.value, "n", DECIDED, "basis")
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def bound(**kw: object) -> Record:
    base = Record(
        "A", "C2", "court.defaulter.refuses", FIRM.value, "f", DECIDED, "basis",
        legal_representative_id=ADULT.value,
    )  # fmt: skip
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def history(
    first: Record | None = None,
    second: Record | None = None,
    later: EventType = EventType.FULFILLED,
) -> list[RecordEvent]:
    a, b = first or own(), second or bound()
    return [
        RecordEvent(a.ref, EventType.LISTED, a.decision_date, a, seq=1),
        RecordEvent(b.ref, EventType.LISTED, b.decision_date, b, seq=2),
        RecordEvent(a.ref, later, D(2026, 4, 1), seq=3),
        RecordEvent(b.ref, EventType.SUSPENDED, D(2026, 3, 3), seq=4),
        RecordEvent(a.ref, EventType.CORRECTED, D(2026, 3, 5), own(extension_years=1), seq=5),
    ]


BASE = shape_of(ADULT, history(), ON)
FLIPS: dict[str, Callable[[], object]] = {
    "subject kind": lambda: shape_of(FIRM, history(own(subject_id=FIRM.value)), ON),
    "minor on the decision date": lambda: shape_of(person(D(2010, 1, 1), 7), history(), ON),
    "category": lambda: shape_of(ADULT, history(own(category="rail.invalid_ticket")), ON),
    "decision date": lambda: shape_of(ADULT, history(own(decision_date=D(2026, 3, 3))), ON),
    "extension years": lambda: shape_of(ADULT, history(own(extension_years=2)), ON),
    "record is someone else's": lambda: shape_of(ADULT, history(own(subject_id=FIRM.value)), ON),
    "legal representative": lambda: shape_of(
        ADULT, history(second=bound(legal_representative_id="X")), ON
    ),
    "event type": lambda: shape_of(ADULT, history(later=EventType.WITHDRAWN), ON),
    "reference order": lambda: shape_of(ADULT, history(own(case_number="C3")), ON),
    "a later day": lambda: shape_of(ADULT, history(), D(2026, 3, 4)),
}


@pytest.mark.parametrize("flip", sorted(FLIPS))
def test_flipping_one_input_gives_another_key(flip: str) -> None:
    assert FLIPS[flip]() != BASE


def test_event_date_order_and_correction_data_are_in_the_key() -> None:
    evs = history()
    moved = [dataclasses.replace(evs[2], event_date=D(2026, 4, 2)), *evs[:2], *evs[3:]]
    assert shape_of(ADULT, moved, ON) != BASE
    # on the correction's day: before it (seq 3) or after it (seq 9)
    before = [*evs[:2], dataclasses.replace(evs[2], event_date=D(2026, 3, 5)), *evs[3:]]
    after = [*evs[:2], dataclasses.replace(evs[2], event_date=D(2026, 3, 5), seq=9), *evs[3:]]
    assert shape_of(ADULT, before, ON) != shape_of(ADULT, after, ON)
    fixed = [*evs[:4], dataclasses.replace(evs[4], record=own(extension_years=3))]
    assert shape_of(ADULT, fixed, ON) != BASE
    # two records about one other subject (the rail repeat rule counts them together) or two
    same = history(own(subject_id=FIRM.value))
    apart = history(own(subject_id=firm(2).value))
    assert shape_of(ADULT, same, ON) != shape_of(ADULT, apart, ON)


def test_what_the_engine_never_reads_is_not_in_the_key() -> None:
    evs = history(
        own(subject_name="other", legal_basis="other", evidence_ref="e"),
        bound(legal_representative_name="x"),
    )
    assert shape_of(ADULT, evs, ON) == BASE
    assert shape_of(person(D(1990, 1, 1), 8), history(), ON) != BASE  # its own ID in records


def test_memo_hits_across_a_batch_of_one_shape() -> None:
    bulk = BulkAssessor(PACK, CALENDARS[0], ON, SCHEMA, BSCHEMA)
    for i in range(50):
        p = person(D(1970, 1, 1) + dt.timedelta(days=i), 1)
        r = Record("A", f"B-{i}", "court.defaulter.refuses", p.value, "n", DECIDED, "b")
        evs = [RecordEvent(r.ref, EventType.LISTED, DECIDED, r, seq=i)]
        assert bulk.entries(p, evs) == direct(p, evs, ON, CALENDARS[0])
    assert (bulk.misses, bulk.hits) == (1, 49)


def test_the_collector_pause_nests_and_restores() -> None:
    assert gc.isenabled()
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


# --- stored IDs parsed as arrays ---------------------------------------------------------


@st.composite
def stored_ids(draw: st.DrawFn) -> str:
    """IDs as the store may hold them, and near misses of every check parse_stored makes."""
    y = draw(st.sampled_from([1800, 1879, 1880, 1900, 1999, 2000, 2004, 2023, 9999]))
    m, d = draw(st.integers(0, 13)), draw(st.sampled_from([0, 1, 28, 29, 30, 31, 32]))
    first = f"{draw(st.sampled_from(['110105', '360426', '999999']))}{y:04d}{m:02d}{d:02d}"
    first += f"{draw(st.integers(0, 999)):03d}"
    good = first + ric_check_char(first)
    return draw(
        st.sampled_from(
            [
                good,
                first + draw(st.sampled_from("0123456789Xx")),  # any check character
                good[:-1] + "\uff10",  # a full-width digit
                "\uff11" + good[1:],
                good[:15],  # a first-generation number
                good + "1",
                firm(draw(st.integers(0, 9))).value,
                draw(st.text(max_size=20)),
            ]
        )
    )


def parsed_one_by_one(raw: str) -> SubjectId | None:
    try:
        return parse_stored(raw)
    except InvalidInput:
        return None


@settings(max_examples=30, deadline=None)
@given(st.lists(stored_ids(), min_size=PARSE_BULK_MIN, max_size=PARSE_BULK_MIN + 50))
def test_ids_parsed_as_arrays_as_one_by_one(raws: list[str]) -> None:
    got = parse_many(raws)
    want = [parsed_one_by_one(r) for r in raws]
    assert got == want
    assert [g.kind for g in got if g] == [w.kind for w in want if w]
