"""The restriction engine, by example (each rule of DOMAIN.md) and by property."""

import datetime as dt
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.domain.calendar import WorkCalendar
from socialcredit.domain.identity import SubjectId, parse_subject_id, ric_check_char
from socialcredit.domain.records import EventType, Record, RecordEvent
from socialcredit.domain.restrictions import Assessment, Status, assess
from socialcredit.domain.rules import TermKind
from socialcredit.rulepacks import load_rulepack
from socialcredit.store.calendar_source import packaged_calendar

D = dt.date
PACK = load_rulepack()
CAL = packaged_calendar()
ADULT = parse_subject_id("360426199101010071")
OTHER = parse_subject_id("11010519491231002X")
FIRM = parse_subject_id("91110000600037341L")


def person(born: dt.date, seq: str = "003") -> SubjectId:
    first = "110105" + born.strftime("%Y%m%d") + seq
    return parse_subject_id(first + ric_check_char(first))


def rec(
    category: str,
    decided: dt.date,
    case: str = "C1",
    subject: SubjectId = ADULT,
    authority: str = "A",
    **kw: object,
) -> Record:
    return Record(authority, case, category, subject.value, "Name", decided, "basis", **kw)  # type: ignore[arg-type]


def listed(*records: Record) -> list[RecordEvent]:
    return [
        RecordEvent(r.ref, EventType.LISTED, r.decision_date, r, seq=i)
        for i, r in enumerate(records)
    ]


def event(r: Record, kind: EventType, day: dt.date, seq: int = 100, **kw: object) -> RecordEvent:
    return RecordEvent(r.ref, kind, day, seq=seq, **kw)  # type: ignore[arg-type]


def at(events: Sequence[RecordEvent], on: dt.date, subject: SubjectId = ADULT) -> Assessment:
    return assess(subject, events, PACK, on, CAL)


def test_ground1_denies_until_performed_and_not_on_the_day_paid() -> None:
    r = rec("court.defaulter.refuses", D(2026, 3, 2))
    evs = listed(r)
    d = at(evs, D(2026, 3, 2)).decide("flight")
    assert d.decision == "deny" and d.until is None and "performed" in (d.until_condition or "")
    assert at(evs, D(2026, 3, 1)).decide("flight").decision == "allow"
    paid = [*evs, event(r, EventType.FULFILLED, D(2026, 6, 10))]
    assert at(paid, D(2026, 6, 9)).decide("flight").decision == "deny"
    assert at(paid, D(2026, 6, 10)).decide("flight").decision == "allow"


def test_joint_sanctions_of_a_court_listing() -> None:
    a = at(listed(rec("court.defaulter.refuses", D(2026, 3, 2))), D(2026, 4, 1))
    denied = {r.sector for r in a.active}
    assert {
        "flight",
        "rail.high_class",
        "hotel.star_rated",
        "property.purchase",
        "employment.civil_service",
        "finance.loan",
    } <= denied
    assert "rail.standard" not in denied
    assert a.decide("rail.standard").decision == "allow"
    assert all(r.rulepack_version == PACK.version for r in a.restrictions)


def test_grounds_2_to_6_two_years_plus_extension_capped_at_five() -> None:
    r = rec("court.defaulter.obstructs", D(2026, 1, 15))
    assert at(listed(r), D(2026, 1, 15)).decide("flight").until == D(2028, 1, 14)
    r3 = rec("court.defaulter.obstructs", D(2026, 1, 15), extension_years=3)
    assert at(listed(r3), D(2026, 1, 15)).decide("flight").until == D(2031, 1, 14)
    r9 = rec("court.defaulter.obstructs", D(2026, 1, 15), extension_years=9)
    assert at(listed(r9), D(2026, 1, 15)).decide("flight").until == D(2031, 1, 14)
    assert at(listed(r), D(2028, 1, 15)).decide("flight").decision == "allow"


def test_air_category_a_pending_through_publicity_across_national_day() -> None:
    r = rec("air.prohibited_items", D(2026, 9, 20))
    evs = listed(r)
    a = at(evs, D(2026, 10, 9))
    (lst,) = a.listings
    assert lst.published_on == D(2026, 10, 8)  # first working day of October
    assert lst.publicity_ends == D(2026, 10, 16)  # 9, 10 (a Saturday workday), 12..16
    assert lst.status is Status.PENDING
    assert a.decide("flight").decision == "allow"  # pending is not enforced
    assert at(evs, D(2026, 10, 16)).decide("flight").decision == "allow"
    active = at(evs, D(2026, 10, 17)).decide("flight")
    assert active.decision == "deny" and active.until == D(2027, 10, 16)
    assert at(evs, D(2027, 10, 17)).decide("flight").decision == "allow"
    assert at(evs, D(2026, 10, 20)).decide("rail.standard").decision == "allow"


def test_year_without_calendar_data_says_weekdays_only() -> None:
    r = rec("air.prohibited_items", D(2027, 9, 20))
    a = at(listed(r), D(2027, 12, 1))
    (x,) = [x for x in a.restrictions if x.sector == "flight"]
    assert x.weekday_only_years == frozenset({2027})
    assert "weekdays only" in x.explain()


def test_rail_fixed_180_days() -> None:
    r = rec("rail.smoking_on_emu", D(2026, 4, 10))
    a = at(listed(r), D(2026, 6, 1))
    d = a.decide("rail.standard")
    assert d.decision == "deny"
    (lst,) = a.listings
    assert d.until == lst.start + dt.timedelta(days=179)
    assert a.decide("rail.high_class").decision == "deny"


def test_rail_fare_until_paid_and_third_within_a_year_waits_90_days() -> None:
    r1 = rec("rail.fare_evasion", D(2026, 1, 5), "R1")
    r2 = rec("rail.invalid_ticket", D(2026, 2, 5), "R2")
    r3 = rec("rail.discount_id_misuse", D(2026, 5, 5), "R3")
    evs = [
        *listed(r1, r2, r3),
        event(r1, EventType.FULFILLED, D(2026, 2, 20), 10),
        event(r2, EventType.FULFILLED, D(2026, 4, 1), 11),
        event(r3, EventType.FULFILLED, D(2026, 7, 1), 12),
    ]
    before = at(evs[:3], D(2026, 7, 1)).decide("rail.standard")
    assert before.decision == "deny" and before.until_condition == "until the amount due is paid"
    after = at(evs, D(2026, 7, 1)).decide("rail.standard")
    assert after.decision == "deny" and after.until == D(2026, 9, 28)  # 90 days from paying
    assert at(evs, D(2026, 9, 29)).decide("rail.standard").decision == "allow"
    # the second record was only the second: it ended the day it was paid
    r2_only = at(evs, D(2026, 4, 1))
    assert all(x.records[0].case_number != "R2" for x in r2_only.active)


def test_third_record_outside_the_window_is_not_a_repeat() -> None:
    r1 = rec("rail.fare_evasion", D(2025, 1, 5), "R1")
    r2 = rec("rail.fare_evasion", D(2025, 2, 5), "R2")
    r3 = rec("rail.fare_evasion", D(2026, 5, 5), "R3")
    evs = [
        *listed(r1, r2, r3),
        event(r1, EventType.FULFILLED, D(2025, 2, 1), 10),
        event(r2, EventType.FULFILLED, D(2025, 3, 1), 11),
        event(r3, EventType.FULFILLED, D(2026, 7, 1), 12),
    ]
    assert at(evs, D(2026, 7, 1)).decide("rail.standard").decision == "allow"


def test_category_b_blocks_flights_and_high_class_rail_only() -> None:
    a = at(listed(rec("tax.major_offender", D(2026, 2, 10))), D(2026, 4, 1))
    assert a.decide("flight").decision == "deny"
    assert a.decide("rail.high_class").decision == "deny"
    assert a.decide("rail.standard").decision == "allow"
    assert a.decide("hotel.star_rated").decision == "allow"


def test_enterprise_listing_binds_its_legal_representative_for_consumption_only() -> None:
    r = Record(
        "A",
        "E1",
        "court.defaulter.refuses",
        FIRM.value,
        "Firm Ltd",
        D(2026, 3, 2),
        "basis",
        legal_representative_id=OTHER.value,
        legal_representative_name="Rep",
    )
    rep = at(listed(r), D(2026, 4, 1), subject=OTHER)
    assert rep.decide("flight").decision == "deny"
    assert rep.decide("flight").reasons[0].via == FIRM.value
    assert rep.decide("employment.civil_service").decision == "allow"
    assert rep.listings == ()  # the representative is not on the list themselves
    firm = at(listed(r), D(2026, 4, 1), subject=FIRM)
    assert firm.decide("employment.civil_service").decision == "deny"


def test_minors_are_never_listed() -> None:
    kid = person(D(2010, 6, 1))
    r = rec("court.defaulter.refuses", D(2026, 3, 2), subject=kid)
    a = at(listed(r), D(2026, 4, 1), subject=kid)
    assert a.restrictions == () and "minor" in a.notes[0]


def test_withdrawal_and_correction() -> None:
    r = rec("court.defaulter.refuses", D(2026, 3, 2))
    w = [*listed(r), event(r, EventType.WITHDRAWN, D(2026, 5, 1), reason="no_assets_found")]
    assert at(w, D(2026, 5, 1)).decide("flight").decision == "allow"
    fixed = rec("court.defaulter.obstructs", D(2026, 3, 2))
    c = [*listed(r), event(r, EventType.CORRECTED, D(2026, 4, 1), record=fixed)]
    assert at(c, D(2026, 4, 2)).decide("flight").until == D(2028, 3, 1)


def test_admin_penalty_publication_and_repair() -> None:
    r = rec("admin_penalty.general", D(2026, 1, 10))
    evs = listed(r)
    assert at(evs, D(2027, 1, 9)).decide("finance.investment_product").decision == "deny"
    assert at(evs, D(2027, 1, 10)).decide("finance.investment_product").decision == "allow"
    rep = [*evs, event(r, EventType.REPAIRED, D(2026, 5, 1))]
    assert at(rep, D(2026, 5, 1)).decide("finance.investment_product").decision == "allow"


def test_redlist_gives_benefits_not_denies() -> None:
    r = rec("redlist.a_grade_taxpayer", D(2026, 4, 1), subject=FIRM)
    a = at(listed(r), D(2026, 5, 1), subject=FIRM)
    d = a.decide("deposit.waiver")
    assert d.decision == "allow" and d.benefits


def test_category_not_for_enterprises_has_no_effect() -> None:
    r = rec("rail.fare_evasion", D(2026, 3, 1), subject=FIRM)
    a = at(listed(r), D(2026, 6, 1), subject=FIRM)
    assert a.restrictions == () and a.notes


# --- properties -------------------------------------------------------------------------

CATEGORIES = sorted(PACK.categories)
days = st.dates(min_value=D(2024, 1, 1), max_value=D(2027, 12, 31))


@st.composite
def histories(draw: st.DrawFn) -> tuple[SubjectId, list[RecordEvent]]:
    born = draw(st.dates(min_value=D(1950, 1, 1), max_value=D(2015, 12, 31)))
    subject = person(born)
    events: list[RecordEvent] = []
    seq = 0
    for i in range(draw(st.integers(0, 5))):
        r = Record(
            "A",
            f"C{i}",
            draw(st.sampled_from(CATEGORIES)),
            subject.value,
            "N",
            draw(days),
            "basis",
            extension_years=draw(st.integers(0, 3)),
        )
        events.append(RecordEvent(r.ref, EventType.LISTED, r.decision_date, r, seq=seq))
        seq += 1
        for kind in draw(
            st.lists(
                st.sampled_from([EventType.FULFILLED, EventType.WITHDRAWN, EventType.REPAIRED]),
                max_size=2,
            )
        ):
            when = r.decision_date + dt.timedelta(days=draw(st.integers(0, 800)))
            events.append(RecordEvent(r.ref, kind, when, seq=seq, reason="other"))
            seq += 1
    return subject, events


@settings(max_examples=300, deadline=None)
@given(histories(), days)
def test_every_outcome_is_explained_and_consistent(
    h: tuple[SubjectId, list[RecordEvent]], on: dt.date
) -> None:
    subject, events = h
    a = assess(subject, events, PACK, on, CAL)
    for r in a.restrictions:
        assert r.records and r.rule_id in PACK.categories and r.rulepack_version == PACK.version
        assert (r.end is None) == (r.until_condition is not None) or r.status is Status.ENDED
        if r.status is Status.ACTIVE:
            assert r.start <= on and (r.end is None or on <= r.end)
        if r.status is Status.PENDING:
            assert on < r.start
    for sector in PACK.sectors:
        d = a.decide(sector)
        assert (d.decision == "deny") == bool(d.reasons)


@settings(max_examples=300, deadline=None)
@given(histories(), days)
def test_minors_are_never_restricted(h: tuple[SubjectId, list[RecordEvent]], on: dt.date) -> None:
    subject, events = h
    a = assess(subject, events, PACK, on, CAL)
    for r in a.restrictions:
        (ref,) = r.records
        listing = next(e.record for e in events if e.ref == ref and e.record is not None)
        assert not subject.is_minor_on(listing.decision_date)


@settings(max_examples=300, deadline=None)
@given(histories(), days, st.integers(1, 2000))
def test_a_later_date_never_revives_an_ended_restriction(
    h: tuple[SubjectId, list[RecordEvent]], on: dt.date, later: int
) -> None:
    subject, events = h
    # only events known by `on`: nothing new happens between the two dates
    known = [e for e in events if e.event_date <= on]
    first = assess(subject, known, PACK, on, CAL)
    second = assess(subject, known, PACK, on + dt.timedelta(days=later), CAL)
    ended = {(r.records, r.measure_id) for r in first.restrictions if r.status is Status.ENDED}
    for r in second.restrictions:
        if (r.records, r.measure_id) in ended:
            assert r.status is Status.ENDED


@settings(max_examples=200, deadline=None)
@given(days, st.integers(0, 900), days)
def test_fulfilled_ground1_is_never_enforced_after_removal(
    decided: dt.date, after: int, on: dt.date
) -> None:
    r = rec("court.defaulter.refuses", decided)
    paid = decided + dt.timedelta(days=after)
    a = at([*listed(r), event(r, EventType.FULFILLED, paid)], on)
    if on >= paid:
        assert a.active == ()
    assert PACK.categories["court.defaulter.refuses"].term.kind is TermKind.UNTIL_REMOVED


def test_empty_calendar_still_answers() -> None:
    r = rec("air.prohibited_items", D(2026, 9, 20))
    a = assess(ADULT, listed(r), PACK, D(2026, 12, 1), WorkCalendar())
    assert a.decide("flight").decision == "deny"
