import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from socialcredit.domain.rules import Effect, ListKind, TermKind, rulepack_from_dict
from socialcredit.errors import InvalidRulePack
from socialcredit.rulepacks import REFERENCE, load_rulepack


def reference_doc() -> Any:
    path = Path(__file__).parents[2] / "src/socialcredit/rulepacks" / REFERENCE
    return yaml.safe_load(path.read_text("utf-8"))


def test_reference_pack_encodes_the_domain() -> None:
    pack = load_rulepack()
    court = [c for c in pack.categories.values() if c.list_id == "court.defaulters"]
    assert len(court) == 6
    ground1 = pack.categories["court.defaulter.refuses"]
    assert ground1.term.kind is TermKind.UNTIL_REMOVED
    for c in court:
        if c is not ground1:
            assert (c.term.kind, c.term.years, c.term.max_total_years) == (TermKind.FIXED, 2, 5)
            assert c.term.extension_max_years == 3
    air = [c for c in pack.categories.values() if c.list_id == "air.category_a"]
    assert len(air) == 9
    assert all(c.term.years == 1 and c.publicity and c.publicity.working_days == 7 for c in air)
    rail = [c for c in pack.categories.values() if c.list_id == "rail.restricted"]
    assert len(rail) == 7
    assert sorted(c.term.days for c in rail if c.term.kind is TermKind.FIXED) == [180] * 4
    paid = [c for c in rail if c.term.kind is TermKind.UNTIL_PAID]
    assert len(paid) == 3
    assert all(c.term.repeat and c.term.repeat.count == 3 for c in paid)
    assert all(c.term.repeat and c.term.repeat.after_payment_days == 90 for c in paid)
    catb = {m.sector for _, m in pack.measures_for_list("air_rail.category_b")}
    assert catb == {"flight", "rail.high_class"}
    assert {m.sector for _, m in pack.measures_for_list("rail.restricted")} == {
        "rail.standard",
        "rail.high_class",
    }
    tiers = {c.tier: c.term for c in pack.categories.values() if c.tier}
    assert (tiers["general"].min_publication_months, tiers["general"].max_publication_months) == (
        3,
        12,
    )
    assert (tiers["serious"].min_publication_months, tiers["serious"].max_publication_months) == (
        12,
        36,
    )
    red = pack.measures_for_list("redlist.taxpayers")
    assert red and all(m.effect is Effect.BENEFIT for _, m in red)
    assert pack.lists["redlist.taxpayers"].kind is ListKind.REDLIST
    required = {
        "flight",
        "rail.standard",
        "rail.high_class",
        "hotel.star_rated",
        "leisure.luxury",
        "travel.outbound_tour",
        "education.private_school_fees",
        "insurance.cash_value",
        "property.purchase",
        "vehicle.non_business",
        "finance.loan",
        "finance.investment_product",
        "employment.senior_management",
        "employment.civil_service",
        "border.exit",
    }
    assert required <= set(pack.sectors)
    memo = next(m for m in pack.memoranda if m.id == "memo.court_defaulters_2016")
    assert memo.signatories
    consumption = {m.sector for m in memo.measures if m.binds_legal_representative}
    assert "flight" in consumption and "employment.civil_service" not in consumption


def test_every_problem_is_reported_with_its_path() -> None:
    doc = reference_doc()
    bad = copy.deepcopy(doc)
    bad["categories"][0]["list"] = "no.such.list"
    bad["categories"][1]["term"] = {"kind": "fixed"}
    bad["memoranda"][0]["measures"][0]["sector"] = "spaceflight"
    bad["deadlines"]["objection_days"] = -1
    with pytest.raises(InvalidRulePack) as e:
        rulepack_from_dict(bad, "test pack")
    fields = {p.field for p in e.value.problems}
    assert "categories[0].list" in fields
    assert "categories[1].term" in fields
    assert "memoranda[0].measures[0].sector" in fields
    assert "deadlines.objection_days" in fields


def test_redlist_cannot_trigger_a_deny() -> None:
    doc = reference_doc()
    memo = next(m for m in doc["memoranda"] if m["id"] == "memo.redlist_taxpayers")
    memo["measures"][0]["effect"] = "deny"
    with pytest.raises(InvalidRulePack, match="redlist triggers only benefit"):
        rulepack_from_dict(doc)


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "pack.yaml"
    p.write_text("version: '1'\nsectors: [\n  - bad\n")
    with pytest.raises(InvalidRulePack, match="line"):
        load_rulepack(p)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidRulePack, match="cannot read"):
        load_rulepack(tmp_path / "absent.yaml")


def test_published_date_is_a_date() -> None:
    assert load_rulepack().published == dt.date(2026, 4, 1)
