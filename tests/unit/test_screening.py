"""The compiled index answers exactly as the restriction engine does.

An index compiled on day T0 from the engine's assessments must give, on every later day T,
the decision ``assess(events known at T0, on=T).decide(sector)`` gives: expiry and the end
of publicity are enforced by the index itself. The same holds after deltas (recompiled
subjects on a later day) and after a snapshot round trip.
"""

import datetime as dt
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.domain.identity import SubjectId, parse_subject_id, ric_check_char
from socialcredit.domain.records import EventType, Record, RecordEvent
from socialcredit.domain.restrictions import assess
from socialcredit.rulepacks import load_rulepack
from socialcredit.screening import (
    OPEN,
    IndexHolder,
    Schema,
    ScreeningIndex,
    SubjectEntry,
    Verdict,
    compile_index,
    entry_for,
    load_index,
    save_index,
    subject_ref,
)
from socialcredit.screening import index as index_module
from socialcredit.screening.profiles import IN_FORCE, Span
from socialcredit.store.calendar_source import packaged_calendar

D = dt.date
PACK = load_rulepack()
CAL = packaged_calendar()
SCHEMA = Schema.from_pack(PACK)
SECTORS = list(PACK.sectors)
FIRM = parse_subject_id("91110000600037341L")
CATEGORIES = sorted(PACK.categories)
days = st.dates(min_value=D(2024, 1, 1), max_value=D(2027, 6, 30))


def person(born: dt.date, seq: int) -> SubjectId:
    first = "110105" + born.strftime("%Y%m%d") + f"{seq:03d}"
    return parse_subject_id(first + ric_check_char(first))


@st.composite
def populations(draw: st.DrawFn) -> tuple[list[SubjectId], list[RecordEvent]]:
    """A few persons and one enterprise whose legal representative is the first person."""
    people = [
        person(draw(st.dates(min_value=D(1950, 1, 1), max_value=D(2012, 12, 31))), i)
        for i in range(draw(st.integers(1, 4)))
    ]
    subjects = [*people, FIRM]
    events: list[RecordEvent] = []
    seq = 0
    for i in range(draw(st.integers(0, 8))):
        who = draw(st.sampled_from(subjects))
        rep = people[0] if who is FIRM else None
        r = Record(
            "A",
            f"C{i}",
            draw(st.sampled_from(CATEGORIES)),
            who.value,
            "N",
            draw(days),
            "basis",
            extension_years=draw(st.integers(0, 3)),
            legal_representative_id=rep.value if rep else None,
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
    return subjects, events


def known(events: Sequence[RecordEvent], on: dt.date) -> list[RecordEvent]:
    return [e for e in events if e.event_date <= on]


def code(s: SubjectId) -> str | None:
    return subject_ref(s)[1]


def assert_agrees(
    index: ScreeningIndex,
    subjects: Sequence[SubjectId],
    events: Sequence[RecordEvent],
    on: dt.date,
) -> None:
    """Scalar and batch answers equal the engine's on ``on``, for every subject and sector."""
    keys, codes, bits, expected = [], [], [], []
    for s in subjects:
        a = assess(s, events, PACK, on, CAL)
        for sector in SECTORS:
            d = a.decide(sector)
            v = index.check(s.key, SCHEMA.bit(sector), on, code(s))
            assert v.deny == (d.decision == "deny"), (s, sector, on, d, v)
            if v.deny:
                assert v.until == d.until
                assert v.reason_code in {r.reason_code for r in d.reasons if r.end == d.until}
            keys.append(s.key)
            codes.append((code(s) or "").encode())
            bits.append(SCHEMA.bit(sector))
            expected.append(v)
    stranger = person(D(1980, 5, 5), 999)
    keys.append(stranger.key)
    codes.append(b"")
    bits.append(0)
    expected.append(Verdict(False, None, None))
    batch = index.check_batch(
        np.array(keys, dtype=np.uint64),
        np.array(bits),
        on,
        np.array(codes, dtype="S18"),
    )
    assert [batch.verdict(i) for i in range(len(keys))] == expected


@settings(max_examples=120, deadline=None)
@given(
    populations(),
    days,
    st.lists(st.integers(0, 900), min_size=1, max_size=3),
    st.integers(1, 400),
)
def test_index_agrees_with_the_engine_after_deltas_and_snapshots(
    pop: tuple[list[SubjectId], list[RecordEvent]],
    t0: dt.date,
    later: list[int],
    delta_after: int,
) -> None:
    subjects, events = pop
    ev0 = known(events, t0)
    index = compile_index((assess(s, ev0, PACK, t0, CAL) for s in subjects), PACK)
    for d in [0, *later]:
        assert_agrees(index, subjects, ev0, t0 + dt.timedelta(days=d))

    # a delta: every subject reassessed on t1 with the events known by then
    t1 = t0 + dt.timedelta(days=delta_after)
    ev1 = known(events, t1)
    upserts, removals = [], []
    for s in subjects:
        e = entry_for(assess(s, ev1, PACK, t1, CAL), SCHEMA, s)
        if e is None:
            removals.append(subject_ref(s))
        else:
            upserts.append(e)
    patched = index.with_changes(upserts, removals)
    for d in [0, *later]:
        assert_agrees(patched, subjects, ev1, t1 + dt.timedelta(days=d))
    assert_agrees(index, subjects, ev0, t0)  # the old index is untouched
    assert_agrees(patched.compact(), subjects, ev1, t1)

    with tempfile.TemporaryDirectory() as tmp:
        loaded = load_index(save_index(patched, Path(tmp) / "snap"))
        for d in [0, *later]:
            assert_agrees(loaded, subjects, ev1, t1 + dt.timedelta(days=d))


def _listed(r: Record) -> list[RecordEvent]:
    return [RecordEvent(r.ref, EventType.LISTED, r.decision_date, r)]


ADULT = parse_subject_id("360426199101010071")


def test_expired_restriction_is_not_enforced_the_day_after_its_end() -> None:
    r = Record("A", "C1", "court.defaulter.obstructs", ADULT.value, "N", D(2026, 1, 15), "b")
    index = compile_index([assess(ADULT, _listed(r), PACK, D(2026, 2, 1), CAL)], PACK)
    flight = SCHEMA.bit("flight")
    assert index.check(ADULT.key, flight, D(2028, 1, 14)) == (
        True,
        D(2028, 1, 14),
        "court.defaulter",
    )
    assert index.check(ADULT.key, flight, D(2028, 1, 15)) == (False, None, None)
    assert not index.check_batch(np.array([ADULT.key], np.uint64), flight, D(2028, 1, 15)).deny[0]


def test_pending_restriction_comes_into_force_without_a_rebuild() -> None:
    r = Record("A", "C1", "air.prohibited_items", ADULT.value, "N", D(2026, 9, 20), "b")
    index = compile_index([assess(ADULT, _listed(r), PACK, D(2026, 10, 9), CAL)], PACK)
    flight = SCHEMA.bit("flight")
    assert not index.check(ADULT.key, flight, D(2026, 10, 16)).deny  # publicity period
    assert index.check(ADULT.key, flight, D(2026, 10, 17)) == (
        True,
        D(2027, 10, 16),
        "air.prohibited_items",
    )


def test_open_ended_deny_has_no_end_day() -> None:
    r = Record("A", "C1", "court.defaulter.refuses", ADULT.value, "N", D(2026, 3, 2), "b")
    index = compile_index([assess(ADULT, _listed(r), PACK, D(2026, 3, 2), CAL)], PACK)
    bit = SCHEMA.bit("rail.high_class")
    assert index.check(ADULT.key, bit, D(2040, 1, 1)) == (True, None, "court.defaulter")
    batch = index.check_batch(np.array([ADULT.key], np.uint64), bit, D(2040, 1, 1))
    assert batch.until[0] == OPEN and batch.verdict(0) == (True, None, "court.defaulter")
    assert not index.check(ADULT.key, SCHEMA.bit("rail.standard"), D(2026, 3, 2)).deny


def _entry(key: int, code: str | None, reason: str = "court.defaulter") -> SubjectEntry:
    span = Span(1 << SCHEMA.bit("flight"), IN_FORCE, OPEN, SCHEMA.reason_id(reason))
    return SubjectEntry(key, code, (span,))


def test_enterprises_are_confirmed_by_full_code_even_when_digests_collide() -> None:
    shared = FIRM.key  # pretend a second enterprise has the same 61-bit digest
    index = ScreeningIndex.from_entries(
        SCHEMA,
        [_entry(shared, FIRM.value), _entry(shared, "91350100M000100Y43", "tax.major_offender")],
    )
    flight = SCHEMA.bit("flight")
    assert index.check(shared, flight, D(2026, 1, 1), FIRM.value).reason_code == "court.defaulter"
    other = index.check(shared, flight, D(2026, 1, 1), "91350100M000100Y43")
    assert other.reason_code == "tax.major_offender"
    assert not index.check(shared, flight, D(2026, 1, 1), "91110108MA01AAAA1X").deny
    with pytest.raises(ValueError, match="full code"):
        index.check(shared, flight, D(2026, 1, 1))
    keys = np.array([shared, shared, shared], dtype=np.uint64)
    codes = np.array([FIRM.value, "91350100M000100Y43", "X"], dtype="S18")
    batch = index.check_batch(keys, flight, D(2026, 1, 1), codes)
    assert batch.deny.tolist() == [True, True, False]
    with pytest.raises(ValueError, match="full codes"):
        index.check_batch(keys, flight, D(2026, 1, 1))


def test_deltas_shadow_the_base_and_compact_into_it(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, c = (person(D(1980, 1, 1), i) for i in range(3))
    base = ScreeningIndex.from_entries(SCHEMA, [_entry(a.key, None), _entry(b.key, None)])
    flight = SCHEMA.bit("flight")
    d = D(2026, 1, 1)
    patched = base.with_changes([_entry(c.key, None, "rail.scalping")], [subject_ref(a)])
    assert [patched.check(s.key, flight, d).deny for s in (a, b, c)] == [False, True, True]
    assert [base.check(s.key, flight, d).deny for s in (a, b, c)] == [True, True, False]
    monkeypatch.setattr(index_module, "COMPACT_MIN", 2)
    compacted = patched.with_changes([_entry(a.key, None, "tax.major_offender")])
    assert compacted.overlay is None and not compacted.changes and compacted.size == 3
    assert compacted.check(a.key, flight, d).reason_code == "tax.major_offender"
    assert compacted.check(c.key, flight, d).reason_code == "rail.scalping"


def test_holder_swaps_and_applies_without_touching_readers_copy() -> None:
    a = person(D(1980, 1, 1), 1)
    holder = IndexHolder(ScreeningIndex.from_entries(SCHEMA, []))
    seen = holder.current
    holder.apply([_entry(a.key, None)])
    assert holder.current.check(a.key, 0, D(2026, 1, 1)).deny
    assert not seen.check(a.key, 0, D(2026, 1, 1)).deny
    assert holder.swap(seen) is not seen and holder.current is seen


def test_index_refuses_mismatched_rule_packs_and_unknown_sectors() -> None:
    r = Record("A", "C1", "court.defaulter.refuses", ADULT.value, "N", D(2026, 3, 2), "b")
    a = assess(ADULT, _listed(r), PACK, D(2026, 3, 2), CAL)
    other = Schema("1999.1", SCHEMA.sectors, SCHEMA.reason_codes)
    with pytest.raises(ValueError, match="rule pack"):
        entry_for(a, other)
    with pytest.raises(KeyError, match="sector"):
        SCHEMA.bit("casino")
    index = compile_index([a], PACK)
    with pytest.raises(ValueError, match="out of range"):
        index.check(ADULT.key, len(SECTORS), D(2026, 3, 2))
