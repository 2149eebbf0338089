"""Regional scoring programmes, by example: grades, windows, caps, switches, eligibility,
counterfactuals, and validation of the scoring document."""

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from socialcredit.domain.identity import SubjectId, SubjectKind, parse_subject_id, ric_check_char
from socialcredit.domain.records import EventType, Record, RecordEvent, RecordRef, RecordState
from socialcredit.domain.scoring import (
    CounterfactualKind,
    Programme,
    ScoreResult,
    anniversary,
    score_subject,
)
from socialcredit.errors import InvalidRulePack
from socialcredit.rulepacks import SCORING, load_rulepack, load_scoring
from socialcredit.rulepacks.scoring_schema import scoring_from_dict

D = dt.date
PACK = load_scoring()
RONGCHENG = next(p for p in PACK.programmes if p.id == "rongcheng")
SUQIAN = next(p for p in PACK.programmes if p.id == "suqian")
REFERENCE_CATEGORIES = set(load_rulepack().categories)
ON = D(2025, 6, 15)
SINCE = D(2010, 1, 1)


def person(born: dt.date, seq: str = "003") -> SubjectId:
    first = "371082" + born.strftime("%Y%m%d") + seq
    return SubjectId(first + ric_check_char(first), SubjectKind.PERSON)


ADULT = person(D(1985, 5, 1))


def state(
    category: str,
    decided: dt.date,
    case: str = "C1",
    subject: SubjectId = ADULT,
    fulfilled: dt.date | None = None,
    withdrawn: dt.date | None = None,
    basis: str = "basis",
) -> RecordState:
    record = Record("A", case, category, subject.value, "Name", decided, basis)
    return RecordState(record, decided, fulfilled_on=fulfilled, withdrawn_on=withdrawn)


def score(
    states: list[RecordState],
    on: dt.date = ON,
    programme: Programme = RONGCHENG,
    subject: SubjectId = ADULT,
    region: str = "371082",
    since: dt.date | None = SINCE,
) -> ScoreResult:
    res = score_subject(subject, region, since, states, programme, on)
    assert res is not None
    return res


def scoring_doc() -> Any:
    path = Path(__file__).parents[2] / "src/socialcredit/rulepacks" / SCORING
    return yaml.safe_load(path.read_text("utf-8"))


# --- the packaged programmes encode DOMAIN.md section 6 ----------------------------------


def test_rongcheng_deductions_are_the_published_ones() -> None:
    published = {
        "credit.contract_default": -20,
        "court.defaulter.refuses": -50,
        "finance.card_arrears": -10,
        "finance.illegal_fundraising": -40,
        "market.pyramid_selling": -30,
        "market.commercial_fraud": -30,
        "market.counterfeit_goods": -30,
        "utility.late_fees": -20,
        "utility.arrears_court": -50,
        "utility.theft": -60,
        "utility.equipment_damage": -100,
    }
    for category, points in published.items():
        rule = RONGCHENG.rule_for(category)
        assert rule is not None and rule.points == points and not rule.illustrative, category
    assert RONGCHENG.rule_for("finance.card_arrears").every_days == 30  # type: ignore[union-attr]
    assert RONGCHENG.base == 1000 and RONGCHENG.illustrative
    assert [g.name for g in RONGCHENG.grades] == ["AAA", "AA", "A", "B", "C", "D"]
    assert (RONGCHENG.eligibility.min_age, RONGCHENG.eligibility.min_residence_years) == (18, 1)


def test_suqian_has_eight_grades_blood_donation_and_unpaid_utilities() -> None:
    assert len(SUQIAN.grades) == 8 and SUQIAN.base == 1000
    assert SUQIAN.rule_for("civic.blood_donation").points == 10  # type: ignore[union-attr]
    assert SUQIAN.rule_for("utility.late_fees").points == -20  # type: ignore[union-attr]


def test_every_scored_category_has_a_legal_basis_and_an_authority() -> None:
    for prog in PACK.programmes:
        for rule in prog.rules:
            for c in rule.categories:
                assert c in REFERENCE_CATEGORIES or (
                    PACK.categories[c].legal_basis and PACK.categories[c].authority_kinds
                )


def test_programme_is_chosen_by_region_prefix() -> None:
    assert PACK.programme_for("371082") is RONGCHENG
    assert PACK.programme_for("321322") is SUQIAN
    assert PACK.programme_for("110105") is None


# --- grades, windows, caps ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "grade"),
    [
        (1050, "AAA"),
        (1049, "AA"),
        (1030, "AA"),
        (1029, "A"),
        (960, "A"),
        (959, "B"),
        (850, "B"),
        (849, "C"),
        (600, "C"),
        (599, "D"),
        (-5000, "D"),
    ],
)
def test_grades_at_thresholds(points: int, grade: str) -> None:
    assert RONGCHENG.grade_of(points) == grade


def test_no_records_means_base_score_and_its_grade() -> None:
    res = score([])
    assert (res.score, res.grade, res.items, res.counterfactuals) == (1000, "A", (), ())


def test_a_deduction_moves_the_grade_and_is_explained() -> None:
    res = score([state("court.defaulter.refuses", D(2025, 1, 10))])
    assert (res.score, res.grade) == (950, "B")
    (item,) = res.items
    assert (item.rule_id, item.points, item.stops_on) == ("sued_in_breach", -50, D(2027, 1, 10))
    assert item.fulfilment_stops_it
    text = "\n".join(res.explain())
    assert "-50 Sued and found in breach" in text and "A/C1" in text and "2027-01-10" in text


def test_an_item_stops_counting_when_its_window_ends() -> None:
    s = [state("credit.contract_default", D(2024, 3, 10))]
    assert score(s, on=D(2026, 3, 9)).score == 980
    assert score(s, on=D(2026, 3, 10)).score == 1000
    assert score(s, on=D(2024, 3, 9)).score == 1000  # not yet decided


def test_29_february_window_ends_on_1_march() -> None:
    s = [state("credit.contract_default", D(2024, 2, 29))]
    assert anniversary(D(2024, 2, 29), 2) == D(2026, 3, 1)
    assert score(s, on=D(2026, 2, 28)).score == 980
    assert score(s, on=D(2026, 3, 1)).score == 1000


def test_caps_bound_one_rule_per_subject() -> None:
    s = [state("credit.contract_default", D(2025, 1, i), case=f"C{i}") for i in range(1, 8)]
    res = score(s)
    assert res.score == 900  # seven defaults = -140, capped at -100
    (cap,) = res.caps
    assert (cap.rule_id, cap.raw_total, cap.capped_total) == ("contract_default", -140, -100)


def test_arrears_accrue_monthly_until_paid_and_are_capped() -> None:
    s = [state("finance.card_arrears", D(2025, 1, 1))]
    assert score(s, on=D(2025, 1, 1)).score == 990
    assert score(s, on=D(2025, 1, 30)).score == 990
    assert score(s, on=D(2025, 1, 31)).score == 980
    assert score(s, on=D(2026, 6, 1)).score == 880  # capped at -120
    paid = [state("finance.card_arrears", D(2025, 1, 1), fulfilled=D(2025, 3, 1))]
    assert score(paid, on=D(2025, 2, 28)).score == 980
    assert score(paid, on=D(2025, 3, 1)).score == 1000


def test_rewards_count_and_are_capped() -> None:
    s = [state("civic.blood_donation", D(2025, m, 1), case=f"B{m}") for m in range(1, 6)]
    assert score(s, programme=SUQIAN, region="321300").score == 1030


def test_withdrawal_and_fulfilment_stop_counting_on_their_day() -> None:
    w = [state("utility.theft", D(2025, 1, 1), withdrawn=D(2025, 5, 1))]
    assert score(w, on=D(2025, 4, 30)).score == 940
    assert score(w, on=D(2025, 5, 1)).score == 1000
    # Theft does not end on fulfilment: compensating the utility does not erase it.
    f = [state("utility.theft", D(2025, 1, 1), fulfilled=D(2025, 2, 1))]
    assert score(f).score == 940
    # An event after the day asked about has not happened yet.
    later = [state("court.defaulter.refuses", D(2025, 1, 1), fulfilled=D(2025, 7, 1))]
    assert score(later).score == 950


def test_events_are_replayed_like_states() -> None:
    rec = Record("A", "C9", "utility.late_fees", ADULT.value, "Name", D(2025, 1, 1), "basis")
    listed = RecordEvent(rec.ref, EventType.LISTED, D(2025, 1, 1), record=rec, seq=1)
    paid = RecordEvent(rec.ref, EventType.FULFILLED, D(2025, 6, 1), seq=2)
    res = score_subject(ADULT, "371082", SINCE, [listed, paid], RONGCHENG, D(2025, 5, 31))
    assert res is not None and res.score == 980
    res = score_subject(ADULT, "371082", SINCE, [listed, paid], RONGCHENG, D(2025, 6, 1))
    assert res is not None and res.score == 1000


def test_only_records_with_a_legal_decision_and_of_the_subject_count() -> None:
    other = person(D(1980, 1, 1), "005")
    s = [
        state("utility.theft", D(2025, 1, 1), basis=""),
        state("utility.theft", D(2025, 1, 1), case="X", subject=other),
        state("rail.scalping", D(2025, 1, 1), case="Y"),  # not scored by this programme
    ]
    res = score(s)
    assert res.score == 1000 and any("no legal decision" in n for n in res.notes)


def test_records_decided_while_a_minor_never_count() -> None:
    young = person(D(2006, 6, 1))
    s = [state("utility.theft", D(2024, 5, 31), subject=young)]
    res = score(s, subject=young)
    assert res.score == 1000 and "minor" in res.notes[0]
    s = [state("utility.theft", D(2024, 6, 1), subject=young)]
    assert score(s, subject=young).score == 940


# --- switches and eligibility --------------------------------------------------------------


def test_a_switched_off_programme_gives_no_score_at_all() -> None:
    doc = scoring_doc()
    doc["programmes"][0]["enabled"] = False
    pack = scoring_from_dict(doc, REFERENCE_CATEGORIES)
    off = pack.programmes[0]
    assert not off.enabled and pack.programme_for("371082") is None
    assert score_subject(ADULT, "371082", SINCE, [], off, ON) is None
    assert pack.programme_for("321300") is not None


def test_the_global_switch_turns_every_programme_off() -> None:
    doc = scoring_doc()
    doc["enabled"] = False
    pack = scoring_from_dict(doc, REFERENCE_CATEGORIES)
    assert not any(p.enabled for p in pack.programmes)
    assert pack.programme_for("371082") is None and pack.programme_for("321300") is None
    for p in pack.programmes:
        assert score_subject(ADULT, p.region_prefix, SINCE, [], p, ON) is None
    del doc["enabled"]  # a missing switch is off, never on
    assert not scoring_from_dict(doc, REFERENCE_CATEGORIES).enabled


@pytest.mark.parametrize(
    ("subject", "region", "since", "why"),
    [
        (person(D(2007, 6, 16)), "371082", SINCE, "17 on the day"),
        (ADULT, "110105", SINCE, "lives elsewhere"),
        (ADULT, "371082", D(2024, 6, 16), "resident less than a year"),
        (ADULT, "371082", None, "residence unknown"),
        (parse_subject_id("91110000600037341L"), "371082", SINCE, "an enterprise"),
    ],
)
def test_ineligible_subjects_get_no_score(
    subject: SubjectId, region: str, since: dt.date | None, why: str
) -> None:
    assert score_subject(subject, region, since, [], RONGCHENG, ON) is None, why


def test_eligible_on_the_eighteenth_birthday_and_first_residence_anniversary() -> None:
    assert score_subject(person(D(2007, 6, 15)), "371082", SINCE, [], RONGCHENG, ON) is not None
    assert score_subject(ADULT, "371082", D(2024, 6, 15), [], RONGCHENG, ON) is not None


# --- counterfactuals -----------------------------------------------------------------------


def test_fulfilling_a_case_lifts_the_grade_today() -> None:
    s = [state("court.defaulter.refuses", D(2025, 1, 10), case="E1")]
    res = score(s)
    (cf,) = [c for c in res.counterfactuals if c.kind is CounterfactualKind.FULFIL]
    assert (cf.refs, cf.on, cf.score, cf.grade) == ((RecordRef("A", "E1"),), ON, 1000, "A")
    paid = [state("court.defaulter.refuses", D(2025, 1, 10), case="E1", fulfilled=ON)]
    assert score(paid).score == cf.score
    assert "fulfilling case A/E1 lifts you to grade A" in cf.explain()


def test_fulfilling_all_open_cases_when_no_single_one_lifts() -> None:
    s = [state("finance.card_arrears", ON, case=f"M{i}") for i in (1, 2)]
    s.append(state("finance.illegal_fundraising", D(2025, 1, 3), case="F"))
    res = score(s)  # 1000 - 10 - 10 - 40 = 940, B; paying one arrears gives 950, still B
    assert (res.score, res.grade) == (940, "B")
    kinds = [c.kind for c in res.counterfactuals]
    assert CounterfactualKind.FULFIL not in kinds
    (cf,) = [c for c in res.counterfactuals if c.kind is CounterfactualKind.FULFIL_ALL]
    assert (cf.refs, cf.score, cf.grade) == ((RecordRef("A", "M1"), RecordRef("A", "M2")), 960, "A")


def test_expiry_counterfactual_names_the_first_day_the_grade_rises() -> None:
    s = [
        state("credit.contract_default", D(2024, 1, 10), case="K1"),
        state("credit.contract_default", D(2024, 8, 1), case="K2"),
    ]
    s.append(state("finance.illegal_fundraising", D(2025, 2, 1), case="F"))
    res = score(s)  # 1000 - 40 - 40 = 920, B; K1 ends 2026-01-10 -> 940 B; K2 -> 960 A
    assert (res.score, res.grade) == (920, "B")
    (cf,) = [c for c in res.counterfactuals if c.kind is CounterfactualKind.EXPIRY]
    assert (cf.refs, cf.on, cf.score, cf.grade) == (
        (RecordRef("A", "K2"),),
        D(2026, 8, 1),
        960,
        "A",
    )
    assert score(s, on=cf.on).score == cf.score
    assert score(s, on=cf.on - dt.timedelta(days=1)).grade == "B"


# --- validation of the scoring document ----------------------------------------------------


def problems(doc: Any) -> set[tuple[str, str]]:
    with pytest.raises(InvalidRulePack) as e:
        scoring_from_dict(doc, REFERENCE_CATEGORIES, "test pack")
    assert "test pack is invalid" in e.value.message
    return {(p.field, p.reason) for p in e.value.problems}


def fields(doc: Any) -> set[str]:
    return {f for f, _ in problems(doc)}


def test_the_packaged_document_is_valid() -> None:
    scoring_from_dict(scoring_doc(), REFERENCE_CATEGORIES)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("programmes", 0, "rules", 0, "points"), 0, "programmes[0].rules[0].points"),
        (("programmes", 0, "rules", 0, "cap"), 50, "programmes[0].rules[0].cap"),
        (("programmes", 0, "rules", 0, "counts_for"), {}, "programmes[0].rules[0].counts_for"),
        (
            ("programmes", 0, "rules", 0, "categories"),
            ["nope.x"],
            "programmes[0].rules[0].categories[0]",
        ),
        (
            ("programmes", 0, "rules", 1, "categories"),
            ["court.nothing.*"],
            "programmes[0].rules[1].categories[0]",
        ),
        (
            ("programmes", 0, "rules", 2, "ends_on_fulfilment"),
            False,
            "programmes[0].rules[2].ends_on_fulfilment",
        ),
        (("programmes", 0, "eligibility", "min_age"), 16, "programmes[0].eligibility.min_age"),
        (("programmes", 0, "grades", 1, "min"), 1060, "programmes[0].grades[1].min"),
        (("programmes", 0, "grades", 5, "min"), 0, "programmes[0].grades[5].min"),
        (("programmes", 1, "region_prefix"), "371082", "programmes[1].region_prefix"),
        (("programmes", 1, "region_prefix"), "32x3", "programmes[1].region_prefix"),
        (("programmes", 1, "base"), "1000", "programmes[1].base"),
        (("programmes", 1, "colour"), "red", "programmes[1].colour"),
        (("categories", 0, "id"), "rail.fare_evasion", "categories[0].id"),
        (("categories", 0, "legal_basis"), " ", "categories[0].legal_basis"),
        (("categories", 0, "authority_kinds"), [], "categories[0].authority_kinds"),
        (("enabled",), "yes", "enabled"),
    ],
)
def test_validation_names_the_path(path: tuple[Any, ...], value: object, field: str) -> None:
    doc = copy.deepcopy(scoring_doc())
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert field in fields(doc)


def test_a_category_scored_twice_in_one_programme_is_refused() -> None:
    doc = scoring_doc()
    doc["programmes"][0]["rules"][0]["categories"].append("utility.theft")
    assert (
        "programmes[0].rules[8].categories",
        "category already scored by rule contract_default",
    ) in problems(doc)


def test_every_problem_is_reported_at_once() -> None:
    doc = scoring_doc()
    doc["programmes"][0]["rules"][0]["points"] = 0
    del doc["programmes"][1]["base"]
    assert {"programmes[0].rules[0].points", "programmes[1].base"} <= fields(doc)


def test_load_scoring_reports_unreadable_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(InvalidRulePack, match="cannot read"):
        load_scoring(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("programmes: [\n", "utf-8")
    with pytest.raises(InvalidRulePack, match="not valid YAML"):
        load_scoring(bad)
