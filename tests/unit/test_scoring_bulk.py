"""The vectorised recomputation agrees with score_subject, resident by resident, on random
populations; and the counterfactuals score_subject gives are exact."""

import datetime as dt
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.domain.identity import SubjectId, SubjectKind, ric_check_char
from socialcredit.domain.records import Record, RecordState
from socialcredit.domain.scoring import CounterfactualKind, Programme, score_subject
from socialcredit.rulepacks import load_scoring
from socialcredit.scoring.bulk import (
    NO_DAY,
    RecordColumns,
    Residents,
    anniversary_days,
    from_day,
    score_bulk,
    to_day,
)

PACK = load_scoring()
PROGRAMMES = {p.id: p for p in PACK.programmes}
CATEGORIES = (
    "credit.contract_default",
    "court.defaulter.refuses",
    "court.defaulter.obstructs",
    "finance.card_arrears",
    "finance.illegal_fundraising",
    "utility.late_fees",
    "utility.arrears_court",
    "utility.theft",
    "utility.equipment_damage",
    "civic.blood_donation",
    "civic.volunteer",
    "admin_penalty.minor",
    "rail.fare_evasion",
    "rail.scalping",  # scored by neither programme
    "air.theft_aboard",
)
LO, HI = to_day(dt.date(1995, 1, 1)), to_day(dt.date(2028, 12, 31))
# Windows of days that keep hitting 29 February, birthdays and window ends.
days = st.one_of(
    st.integers(LO, HI),
    st.sampled_from(
        [
            to_day(dt.date(y, m, d))
            for y in (2004, 2008, 2024)
            for m, d in ((2, 28), (2, 29), (3, 1))
        ]
    ),
)
maybe_day = st.one_of(st.just(NO_DAY), st.integers(LO, HI))


def person(i: int, born: dt.date) -> SubjectId:
    first = "371082" + born.strftime("%Y%m%d") + f"{i:03d}"
    return SubjectId(first + ric_check_char(first), SubjectKind.PERSON)


@st.composite
def populations(draw: st.DrawFn) -> tuple[Programme, dt.date, Residents, RecordColumns]:
    programme = PROGRAMMES[draw(st.sampled_from(sorted(PROGRAMMES)))]
    on = from_day(draw(st.integers(to_day(dt.date(2020, 1, 1)), to_day(dt.date(2027, 12, 31)))))
    assert on is not None
    n = draw(st.integers(1, 12))
    birth = [
        draw(st.one_of(st.integers(to_day(dt.date(1940, 1, 1)), to_day(dt.date(2012, 1, 1))), days))
        for _ in range(n)
    ]
    on_day = to_day(on)
    since = [draw(st.one_of(maybe_day, st.integers(LO, on_day), days)) for _ in range(n)]
    m = draw(st.integers(0, 40))
    subj = [draw(st.integers(0, n - 1)) for _ in range(m)]
    cat = [draw(st.integers(0, len(CATEGORIES) - 1)) for _ in range(m)]
    # Mostly decided in the two and a half years before the day, so that windows, caps and
    # accruals are live; sometimes anywhere, including after the day.
    recent = st.integers(-60, 900).map(lambda back: on_day - back)
    dec = [draw(st.one_of(recent, recent, days)) for _ in range(m)]
    after = st.one_of(st.just(NO_DAY), st.integers(0, 800))
    ful = [min(d + x, NO_DAY) for d in dec if (x := draw(after)) is not None]
    end = [min(d + x, NO_DAY) for d in dec if (x := draw(after)) is not None]
    residents = Residents(np.array(birth, np.int32), np.array(since, np.int32))
    records = RecordColumns(
        np.array(subj, np.int64),
        np.array(cat, np.int32),
        np.array(dec, np.int32),
        np.array(ful, np.int32),
        np.array(end, np.int32),
        CATEGORIES,
    )
    return programme, on, residents, records


def states_of(records: RecordColumns, i: int, subject: SubjectId) -> list[RecordState]:
    out = []
    for k in np.flatnonzero(records.subject == i):
        decided = from_day(int(records.decision_day[k]))
        assert decided is not None
        rec = Record(
            "A", f"C{k}", CATEGORIES[records.category[k]], subject.value, "N", decided, "b"
        )
        out.append(
            RecordState(
                rec,
                decided,
                fulfilled_on=from_day(int(records.fulfilled_day[k])),
                withdrawn_on=from_day(int(records.ended_day[k])),
            )
        )
    return out


@settings(max_examples=200, deadline=None)
@given(populations())
def test_bulk_equals_score_subject_for_every_resident(
    pop: tuple[Programme, dt.date, Residents, RecordColumns],
) -> None:
    programme, on, residents, records = pop
    bulk = score_bulk(programme, on, residents, records)
    assert bulk is not None
    for i in range(len(residents.birth_day)):
        born = from_day(int(residents.birth_day[i]))
        assert born is not None
        subject = person(i, born)
        since = from_day(int(residents.resident_since_day[i]))
        states = states_of(records, i, subject)
        res = score_subject(subject, programme.region_prefix, since, states, programme, on)
        if res is None:
            assert not bulk.eligible[i] and bulk.grade[i] == -1 and bulk.score[i] == 0
            continue
        assert bulk.eligible[i]
        assert (int(bulk.score[i]), bulk.grade_names[bulk.grade[i]]) == (res.score, res.grade)
        assert res.score == res.base + sum(c.capped_total - c.raw_total for c in res.caps) + sum(
            x.points for x in res.items
        )
        # Counterfactuals are exact: doing what they say, if nothing else happens after the
        # day, gives what they promise.
        known = [
            replace(
                s,
                fulfilled_on=s.fulfilled_on if s.fulfilled_on and s.fulfilled_on <= on else None,
                withdrawn_on=s.withdrawn_on if s.withdrawn_on and s.withdrawn_on <= on else None,
            )
            for s in states
            if s.record.decision_date <= on
        ]
        for cf in res.counterfactuals:
            if cf.kind is CounterfactualKind.EXPIRY:
                later = score_subject(
                    subject, programme.region_prefix, since, known, programme, cf.on
                )
            else:
                paid = [replace(s, fulfilled_on=cf.on) if s.ref in cf.refs else s for s in known]
                later = score_subject(
                    subject, programme.region_prefix, since, paid, programme, cf.on
                )
            assert later is not None and (later.score, later.grade) == (cf.score, cf.grade)


def test_switched_off_programme_scores_nobody() -> None:
    programme = replace(PROGRAMMES["rongcheng"], enabled=False)
    residents = Residents(np.zeros(3, np.int32), np.zeros(3, np.int32))
    empty = np.zeros(0, np.int32)
    records = RecordColumns(np.zeros(0, np.int64), empty, empty, empty, empty, CATEGORIES)
    assert score_bulk(programme, dt.date(2025, 1, 1), residents, records) is None


def test_empty_region_and_distribution() -> None:
    programme = PROGRAMMES["suqian"]
    born = to_day(dt.date(1980, 1, 1))
    residents = Residents(
        np.array([born, born, born], np.int32), np.array([0, NO_DAY, 0], np.int32)
    )
    empty = np.zeros(0, np.int32)
    records = RecordColumns(np.zeros(0, np.int64), empty, empty, empty, empty, ())
    bulk = score_bulk(programme, dt.date(2025, 1, 1), residents, records)
    assert bulk is not None
    assert list(bulk.eligible) == [True, False, True] and list(bulk.score) == [1000, 0, 1000]
    assert bulk.distribution()["A"] == 2 and sum(bulk.distribution().values()) == 2


def test_vector_anniversary_matches_the_domain_rule() -> None:
    start = np.array([to_day(dt.date(2024, 2, 29)), to_day(dt.date(2023, 12, 31))], np.int64)
    got = anniversary_days(start, np.array([1, 2], np.int64))
    assert [from_day(int(x)) for x in got] == [dt.date(2025, 3, 1), dt.date(2025, 12, 31)]
