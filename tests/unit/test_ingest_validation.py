"""Ingest validation against the in-memory store: no SQL involved."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from socialcredit.domain.identity import ric_check_char
from socialcredit.domain.rules import RulePack
from socialcredit.registry.ingest import ingest_table
from socialcredit.store.fake import FakeUnitOfWork

TODAY = dt.date(2026, 4, 1)
MINOR = "11010520100101001" + ric_check_char("11010520100101001")


def table(**cols: list[object]) -> pa.Table:
    base: dict[str, list[object]] = {
        "authority": ["SPC-BJ-HD"],
        "case_number": ["c1"],
        "category": ["court.defaulter.refuses"],
        "subject_id": ["11010519491231002X"],
        "subject_name": ["张三"],
        "decision_date": ["2024-03-01"],
        "legal_basis": ["Art. 1(1)"],
    }
    base.update(cols)
    return pa.table({k: pa.array(v, pa.string()) for k, v in base.items()})


def test_valid_line_is_accepted_and_subject_created(
    fake_uow: FakeUnitOfWork, pack: RulePack
) -> None:
    report = ingest_table(fake_uow, table(), source="t", pack=pack, today=TODAY)
    assert (report.accepted, report.rejected) == (1, ())
    with fake_uow:
        subject = fake_uow.subjects.get("11010519491231002X")
        assert subject is not None and subject.birth_date == dt.date(1949, 12, 31)
        assert subject.name == "张三" and subject.region_code == "110105"


def test_minor_on_decision_date_is_never_listed(fake_uow: FakeUnitOfWork, pack: RulePack) -> None:
    later = dt.date(2030, 1, 1)
    minor = table(subject_id=[MINOR], decision_date=["2027-12-31"])
    report = ingest_table(fake_uow, minor, source="t", pack=pack, today=later)
    assert [(p.line, p.field) for p in report.rejected] == [(1, "subject_id")]
    assert "minor" in report.rejected[0].reason
    adult = table(subject_id=[MINOR], decision_date=["2028-01-01"], case_number=["c2"])
    ok = ingest_table(fake_uow, adult, source="t2", pack=pack, today=later)
    assert (ok.accepted, ok.rejected) == (1, ())  # 18 on the decision date


def test_category_must_fit_authority_and_subject_kind(
    fake_uow: FakeUnitOfWork, pack: RulePack
) -> None:
    report = ingest_table(
        fake_uow,
        table(
            authority=["CR", "CAAC"],
            case_number=["a", "b"],
            category=["court.defaulter.refuses", "air.false_documents"],
            subject_id=["11010519491231002X", "91110000600037341L"],
            subject_name=["x", "y"],
            decision_date=["2024-03-01", "2024-03-01"],
            legal_basis=["b", "b"],
        ),
        source="t",
        pack=pack,
        today=TODAY,
    )
    reasons = {p.line: p.reason for p in report.rejected}
    assert "may not submit" in reasons[1]
    assert "enterprise" in reasons[2]


def test_withdrawal_needs_a_known_reason_and_a_listed_case(
    fake_uow: FakeUnitOfWork, pack: RulePack
) -> None:
    t = pa.table(
        {
            "event": ["withdrawn", "withdrawn"],
            "authority": ["SPC-BJ-HD", "SPC-BJ-HD"],
            "case_number": ["none", "none"],
            "event_date": ["2025-01-01", "2025-01-01"],
            "reason": ["whim", "other"],
        }
    )
    report = ingest_table(fake_uow, t, source="t", pack=pack, today=TODAY)
    assert [(p.line, p.field) for p in report.rejected] == [
        (1, "case_number"),
        (1, "reason"),
        (2, "case_number"),
    ] or {(p.line, p.field) for p in report.rejected} == {(1, "reason"), (2, "case_number")}


def test_same_table_twice_is_already_ingested(fake_uow: FakeUnitOfWork, pack: RulePack) -> None:
    first = ingest_table(fake_uow, table(), source="t", pack=pack, today=TODAY)
    again = ingest_table(fake_uow, table(), source="t", pack=pack, today=TODAY)
    assert again.already_ingested and again.batch_id == first.batch_id
    with fake_uow:
        assert fake_uow.records.count() == 1 and fake_uow.records.event_count() == 1
