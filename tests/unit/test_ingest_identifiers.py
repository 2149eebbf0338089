"""Ingest's vectorised identifier check agrees with the domain parser exactly: on the
real-world table (issue 16) and on generated numbers, valid and mangled. Agreement means the
same lines accepted, the same reason for each rejected one, the same stored value and the
same warnings on the line's result."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.id_cases import ACCEPTED, FORMS, FULL_WIDTH, REJECTED, first_generation_ids, pid

from socialcredit.domain.identity import parse_subject_id
from socialcredit.domain.rules import RulePack
from socialcredit.errors import InvalidIdentifier
from socialcredit.registry import seed_reference_authorities
from socialcredit.registry.ingest import IngestReport, ingest_table
from socialcredit.store.fake import FakeUnitOfWork

TODAY = dt.date(2026, 4, 1)
DECIDED = dt.date(2026, 3, 1)
MINOR = "the subject was a minor on the decision date; minors are never listed"
ENTERPRISE = "91110000600037341L"


def _uow(pack: RulePack) -> FakeUnitOfWork:
    fake = FakeUnitOfWork()
    with fake:
        seed_reference_authorities(fake, pack)
        fake.commit()
    return fake


def _lines(ids: list[str], field: str) -> pa.Table:
    n = len(ids)
    cols: dict[str, list[str]] = {
        "authority": ["SPC-BJ-HD"] * n,
        "case_number": [f"c{i}" for i in range(n)],
        "category": ["court.defaulter.refuses"] * n,
        "subject_id": ids if field == "subject_id" else [ENTERPRISE] * n,
        "subject_name": ["张三"] * n,
        "decision_date": [DECIDED.isoformat()] * n,
        "legal_basis": ["Art. 1(1)"] * n,
    }
    if field == "legal_representative_id":
        cols[field] = ids
    return pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})


def assert_agrees(pack: RulePack, ids: list[str], field: str = "subject_id") -> IngestReport:
    uow = _uow(pack)
    report = ingest_table(uow, _lines(ids, field), source="t", pack=pack, today=TODAY)
    for line, raw in enumerate(ids, start=1):
        rejected = [(p.field, p.reason, p.value) for p in report.rejected if p.line == line]
        warned = [(p.field, p.reason, p.value) for p in report.warnings if p.line == line]
        try:
            sid = parse_subject_id(raw, field, TODAY)
        except InvalidIdentifier as e:
            assert rejected == [(field, e.problems[0].reason, raw)], raw
            assert warned == []
            continue
        if field == "legal_representative_id" and sid.birth_date is None:
            assert rejected == [(field, "must be a resident ID number", raw)], raw
            continue
        if field == "subject_id" and sid.is_minor_on(DECIDED):
            assert [r[:2] for r in rejected] == [(field, MINOR)], raw
            continue
        assert rejected == [], raw
        assert warned == [(field, w, raw) for w in sid.warnings], raw
        with uow:
            stored = uow.subjects.get(sid.value)
            assert stored is not None, raw
            assert stored.birth_date == sid.birth_date
            record = uow.records.get("SPC-BJ-HD", f"c{line - 1}")
            assert record is not None
            got = record.subject_id if field == "subject_id" else record.legal_representative_id
            assert got == sid.value
    return report


def test_real_world_table_through_ingest(pack: RulePack) -> None:
    raws = [c.raw for c in ACCEPTED.values()] + [raw for raw, _ in REJECTED.values()]
    report = assert_agrees(pack, raws)
    assert report.accepted == len(ACCEPTED)
    converted = [w for w in report.warnings if "converted to 18 digits" in w.reason]
    assert [(w.value, w.field) for w in converted] == [("110105491231002", "subject_id")]


def test_real_world_table_as_legal_representatives(pack: RulePack) -> None:
    raws = [c.raw for c in ACCEPTED.values()] + [raw for raw, _ in REJECTED.values()]
    assert_agrees(pack, raws, "legal_representative_id")


def _mangle(value: str, at: int, char: str) -> str:
    return value[:at] + char + value[at + 1 :]


# Right check character, birth date near or out of range: 30 February, month 13, future...
near_dates = st.builds(
    lambda y, m, d, n: pid(f"110105{y:04d}{m:02d}{d:02d}{n:03d}"),
    st.integers(1870, 2007) | st.integers(2020, 2030),
    st.integers(0, 13),
    st.integers(28, 32) | st.integers(0, 32),
    st.integers(0, 999),
)
valid = st.sampled_from(sorted(FORMS)).flatmap(lambda f: FORMS[f])
mangled = st.builds(
    _mangle, valid, st.integers(0, 17), st.sampled_from("0123456789X")
)  # often a wrong check character or date, sometimes still valid
variants = st.one_of(
    valid,
    mangled,
    first_generation_ids(),
    valid.map(lambda v: v.translate(FULL_WIDTH)),
    mangled.map(lambda v: v.lower()),
    near_dates,
    # Any 17 digits with their check character: impossible dates, unknown address codes...
    st.text("0123456789", min_size=17, max_size=17).map(pid),
    st.sampled_from([ENTERPRISE, "91110000600037341M", pid("00000019800101001")]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(variants, min_size=1, max_size=12))
def test_generated_numbers_agree_with_the_domain(pack: RulePack, ids: list[str]) -> None:
    assert_agrees(pack, ids)


@settings(max_examples=30, deadline=None)
@given(st.lists(near_dates, min_size=8, max_size=16))
def test_birth_dates_agree_with_the_domain(pack: RulePack, ids: list[str]) -> None:
    assert_agrees(pack, ids)
