"""The synthetic generator: valid, unique identifiers; determinism; records valid per the pack.

One module-scoped population (60,000 persons, 1,600 enterprises: the national mix) and one
year of its records at 20x the national rate (so every category shows up) serve most tests.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from stdnum.cn import ric, uscc

from socialcredit.domain.identity import SubjectKind, parse_subject_id
from socialcredit.domain.records import WITHDRAWAL_REASONS
from socialcredit.domain.rules import RulePack
from socialcredit.rulepacks import load_rulepack
from socialcredit.synthetic.generate import (
    PROFILES,
    RECORD_SCHEMA,
    REFERENCE_AUTHORITIES,
    SUBJECT_SCHEMA,
    Population,
    generate_population,
    generate_records,
    write_records,
)

ON = dt.date(2026, 3, 31)
YEAR = 2025
SCALE = 20 * 61_600 / 1_015_910_000


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_rulepack()


@pytest.fixture(scope="module")
def pop() -> Population:
    return generate_population(60_000, 1_600, seed=7, on=ON)


@pytest.fixture(scope="module")
def records(pop: Population, pack: RulePack) -> pa.Table:
    return generate_records(pop, YEAR, SCALE, seed=7, pack=pack)


def test_subjects_table_shape(pop: Population) -> None:
    t = pop.subjects
    assert t.schema == SUBJECT_SCHEMA
    assert t.num_rows == 61_600
    assert Counter(t.column("kind").to_pylist()) == {"person": 60_000, "enterprise": 1_600}


def test_every_sampled_id_is_valid_and_of_its_kind(pop: Population) -> None:
    ids = pop.subjects.column("subject_id").to_pylist()
    kinds = pop.subjects.column("kind").to_pylist()
    rng = np.random.default_rng(0)
    for i in rng.choice(len(ids), 3_000, replace=False):
        sid = parse_subject_id(ids[i])
        assert sid.kind.value == kinds[i]
        if sid.kind is SubjectKind.PERSON:
            assert ric.is_valid(ids[i])
        else:
            assert uscc.is_valid(ids[i])


def test_ids_unique(pop: Population) -> None:
    ids = pop.subjects.column("subject_id").to_pylist()
    assert len(set(ids)) == len(ids)


def test_person_fields_agree_with_the_id(pop: Population) -> None:
    p = pop.persons.slice(0, 2_000).to_pylist()
    for row in p:
        sid = parse_subject_id(row["subject_id"])
        assert sid.birth_date == row["birth_date"]
        assert sid.region_code == row["region_code"]
        assert row["birth_date"] <= ON
        assert 2 <= len(row["name"]) <= 4
        assert row["legal_representative_id"] is None


def test_age_pyramid_and_sex_and_contacts(pop: Population) -> None:
    persons = pop.persons
    n = persons.num_rows
    born = persons.column("birth_date").to_pylist()
    eighteen = ON.replace(year=ON.year - 18)
    minors = sum(b > eighteen for b in born)
    assert 0.15 < minors / n < 0.21
    sixty = ON.replace(year=ON.year - 60)
    assert 0.19 < sum(b <= sixty for b in born) / n < 0.26
    male = sum(int(s[16]) % 2 == 1 for s in persons.column("subject_id").to_pylist())
    assert 0.49 < male / n < 0.53
    no_email = persons.column("contact_email").null_count
    assert 0.27 < no_email / n < 0.33


def test_enterprises_have_adult_legal_representatives(pop: Population) -> None:
    person_ids = set(pop.persons.column("subject_id").to_pylist())
    for row in pop.companies.to_pylist()[:500]:
        rep = row["legal_representative_id"]
        assert rep in person_ids
        assert not parse_subject_id(rep).is_minor_on(ON)
        assert row["birth_date"] is None
        assert row["name"].endswith(("公司", "合作社", "店", "部", "行", "超市", "餐馆"))


def test_deterministic_by_seed(pack: RulePack) -> None:
    a = generate_population(3_000, 200, seed=1, on=ON)
    b = generate_population(3_000, 200, seed=1, on=ON)
    c = generate_population(3_000, 200, seed=2, on=ON)
    assert a.subjects.equals(b.subjects)
    assert not a.subjects.equals(c.subjects)
    ra = generate_records(a, YEAR, 2e-4, seed=1, pack=pack)
    rb = generate_records(b, YEAR, 2e-4, seed=1, pack=pack)
    assert ra.equals(rb)
    assert not ra.equals(generate_records(a, YEAR, 2e-4, seed=2, pack=pack))


def test_records_schema_is_the_ingest_format(records: pa.Table) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "ingest-format.md").read_text("utf-8")
    documented = [
        line.split("|")[1].strip().strip("`") for line in doc.splitlines() if line.startswith("| `")
    ]
    assert records.schema == RECORD_SCHEMA
    assert records.column_names == documented


def test_each_listed_row_valid_against_the_pack(records: pa.Table, pack: RulePack) -> None:
    auths = {a.code: a for a in REFERENCE_AUTHORITIES}
    year_end = min(dt.date(YEAR, 12, 31), ON)
    seen: set[tuple[str, str]] = set()
    for row in records.to_pylist():
        if row["event"] != "listed":
            continue
        cat = pack.category(row["category"])
        assert auths[row["authority"]].may_submit(cat.id)
        assert auths[row["authority"]].kind in cat.authority_kinds
        sid = parse_subject_id(row["subject_id"])
        assert sid.kind.value in cat.subject_kinds
        decided = row["decision_date"]
        assert dt.date(YEAR, 1, 1) <= decided <= year_end
        assert row["event_date"] == decided
        assert not sid.is_minor_on(decided), "minors are never listed"
        assert row["legal_basis"] == cat.legal_basis
        key = (row["authority"], row["case_number"])
        assert key not in seen, "case numbers are unique per authority"
        seen.add(key)
        ext = row["extension_years"]
        if ext:
            assert cat.id.startswith("court.defaulter.") and not cat.id.endswith("refuses")
            assert 1 <= ext <= cat.term.extension_max_years
            assert cat.term.years + ext <= cat.term.max_total_years
        if sid.kind is SubjectKind.ENTERPRISE:
            rep = parse_subject_id(row["legal_representative_id"])
            assert rep.kind is SubjectKind.PERSON and row["legal_representative_name"]
        else:
            assert row["legal_representative_id"] is None
        if row["amount_owed"] is not None:
            assert row["amount_owed"] >= 0


def test_court_case_numbers_look_like_court_numbers(records: pa.Table) -> None:
    rows = [r for r in records.to_pylist() if r["authority"] == "SPC-BJ-HD"]
    assert rows
    for r in rows:
        assert r["case_number"].startswith(f"({YEAR})京0108执") and r["case_number"].endswith("号")


def test_events_follow_their_listing(records: pa.Table) -> None:
    year_end = min(dt.date(YEAR, 12, 31), ON)
    listed: dict[tuple[str, str], dt.date] = {}
    for row in records.to_pylist():  # sorted: a listing precedes its events
        key = (row["authority"], row["case_number"])
        if row["event"] == "listed":
            listed[key] = row["decision_date"]
            continue
        assert key in listed
        assert listed[key] < row["event_date"] <= year_end
        if row["event"] == "withdrawn":
            assert row["reason"] in WITHDRAWAL_REASONS
        if row["event"] == "corrected":
            assert row["subject_id"] and row["decision_date"] == listed[key]


def test_rates_roughly_as_documented(records: pa.Table) -> None:
    rows = records.to_pylist()
    listed = Counter(r["category"] for r in rows if r["event"] == "listed")
    expected_total = 14_210_000 * SCALE
    dishonest = sum(v for k, v in listed.items() if not k.startswith("redlist."))
    assert abs(dishonest - expected_total) / expected_total < 0.1
    court = {k: v for k, v in listed.items() if k.startswith("court.defaulter.")}
    assert abs(sum(court.values()) - 2_614_000 * SCALE) / (2_614_000 * SCALE) < 0.1
    assert max(court, key=lambda k: court[k]) == "court.defaulter.refuses"
    for k in ("air.prohibited_items", "rail.fare_evasion", "tax.major_offender"):
        assert listed[k] > 0
    assert listed["redlist.a_grade_taxpayer"] > 0
    # About 60% of court listings are removed within the year (less near the year's end).
    court_cases = {
        (r["authority"], r["case_number"])
        for r in rows
        if r["event"] == "listed" and r["category"].startswith("court.defaulter.")
    }
    removed = {
        (r["authority"], r["case_number"])
        for r in rows
        if r["event"] in ("fulfilled", "withdrawn")
        and (r["authority"], r["case_number"]) in court_cases
    }
    assert 0.5 < len(removed) / len(court_cases) < 0.7
    events = Counter(r["event"] for r in rows)
    assert events["corrected"] > 0 and events["withdrawn"] > 0 and events["repaired"] > 0


def test_default_scale_follows_population_share(pop: Population, pack: RulePack) -> None:
    t = generate_records(pop, YEAR, None, seed=3, pack=pack)
    listed = t.filter(pa.compute.equal(t.column("event"), "listed")).num_rows
    persons = sum(p.national * (1 - p.enterprise_share) for p in PROFILES.values())
    firms = sum(p.national * p.enterprise_share for p in PROFILES.values())
    expected = persons * 60_000 / 990_000_000 + firms * 1_600 / 25_910_000
    assert abs(listed - expected) / expected < 0.15


def test_records_never_after_on(pack: RulePack) -> None:
    on = dt.date(2025, 5, 10)
    p = generate_population(5_000, 300, seed=4, on=on)
    t = generate_records(p, 2025, 2e-4, seed=4, pack=pack)
    assert max(t.column("event_date").to_pylist()) <= on
    with pytest.raises(ValueError):
        generate_records(p, 2026, None, seed=4, pack=pack)


def test_authorities_cover_the_pack(pack: RulePack) -> None:
    codes = {a.code for a in REFERENCE_AUTHORITIES}
    assert {"SPC-BJ-HD", "SPC-SH-PD", "SPC-GD-TH", "STA", "CAAC", "CR", "MPS-RAIL"} <= codes
    assert {"MOHRSS", "CSRC", "SAMR", "MOF"} <= codes
    for a in REFERENCE_AUTHORITIES:
        assert a.categories == {
            c.id for c in pack.categories.values() if a.kind in c.authority_kinds
        }


def test_given_authorities_are_respected(pop: Population, pack: RulePack) -> None:
    only = {a.code: a for a in REFERENCE_AUTHORITIES if a.code in ("SPC-BJ-HD", "SAMR")}
    t = generate_records(pop, YEAR, SCALE, seed=5, pack=pack, authorities=only)
    assert set(t.column("authority").to_pylist()) == {"SPC-BJ-HD", "SAMR"}
    cats = set(t.column("category").drop_null().to_pylist())
    assert all(c.startswith(("court.", "admin_penalty.")) for c in cats)


def test_progress_is_reported(pack: RulePack) -> None:
    calls: list[tuple[str, int, int]] = []
    p = generate_population(2_000, 100, seed=1, on=ON, progress=lambda *a: calls.append(a))
    generate_records(p, YEAR, 2e-4, seed=1, pack=pack, progress=lambda *a: calls.append(a))
    stages = {s for s, _, _ in calls}
    assert stages == {"individuals", "enterprises", "records"}
    for stage in stages:
        last = [c for c in calls if c[0] == stage][-1]
        assert last[1] == last[2]


@pytest.mark.parametrize("ext", ["jsonl", "csv", "parquet"])
def test_formats_round_trip(records: pa.Table, tmp_path: Path, ext: str) -> None:
    small = records.slice(0, 3_000)
    path = write_records(small, tmp_path / f"records.{ext}")
    if ext == "parquet":
        assert pq.read_table(path).equals(small)
        return
    if ext == "csv":
        opts = pa_csv.ConvertOptions(column_types=RECORD_SCHEMA, strings_can_be_null=True)
        assert pa_csv.read_csv(path, convert_options=opts).equals(small)
        return
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == small.num_rows
    for line, row in zip(lines, small.to_pylist(), strict=True):
        got = json.loads(line, parse_float=Decimal)
        want = {
            k: (v.isoformat() if isinstance(v, dt.date) else v)
            for k, v in row.items()
            if v is not None
        }
        assert got == want


def test_unknown_extension_refused(records: pa.Table, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_records(records.slice(0, 1), tmp_path / "records.xlsx")
