"""The bulk write path: indexes dropped and rebuilt inside a batch, subjects derived in SQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine, inspect

from socialcredit.domain.records import EventType
from socialcredit.domain.rules import RulePack
from socialcredit.registry.ingest import ingest_table
from socialcredit.store import SqlUnitOfWork, sql_ingest

TODAY = dt.date(2026, 4, 1)
PERSON = "11010519491231002X"
PERSON2 = "360426199101010071"
ENTERPRISE = "91110000600037341L"


def row(case: str, **over: Any) -> dict[str, Any]:
    base = {
        "event": "listed",
        "authority": "SPC-BJ-HD",
        "case_number": case,
        "category": "court.defaulter.refuses",
        "subject_id": PERSON,
        "subject_name": "张三",
        "decision_date": "2024-03-01",
        "legal_basis": "SPC Provisions Art. 1(1)",
        "event_date": None,
        "reason": None,
        "legal_representative_id": None,
        "legal_representative_name": None,
    }
    base.update(over)
    return base


def table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.table({k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0]})


def index_names(engine: Engine) -> set[str]:
    """The records' indexes and foreign keys (PostgreSQL's bulk path drops both)."""
    insp = inspect(engine)
    fks = {f"fk:{f['name']}:{f['referred_table']}" for f in insp.get_foreign_keys("records")}
    return {i["name"] for i in insp.get_indexes("records") if i["name"]} | fks


@pytest.fixture(params=[False, True], ids=["incremental", "rebuild"])
def bulk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if request.param:
        monkeypatch.setattr(sql_ingest, "BULK_MIN_ROWS", 1)  # any batch >= the table rebuilds
    return bool(request.param)


def test_subjects_take_the_first_record_and_representatives_come_after(
    engine: Engine, pack: RulePack, bulk: bool
) -> None:
    rows = [
        # PERSON2 first appears as a legal representative, then as a record's subject: the
        # record's subject name wins, as record subjects are added before representatives.
        row(
            "a",
            subject_id=ENTERPRISE,
            subject_name="某公司",
            legal_representative_id=PERSON2,
            legal_representative_name="代表人",
        ),
        row("b", subject_id=PERSON2, subject_name="李四"),
        row("c", subject_id=PERSON2, subject_name="李四 (later spelling)"),
        row("d", subject_name="张三"),
    ]
    before = index_names(engine)
    report = ingest_table(SqlUnitOfWork(engine), table(rows), source="t", pack=pack, today=TODAY)
    assert (report.accepted, report.rejected) == (4, ())
    assert index_names(engine) == before
    with SqlUnitOfWork(engine, readonly=True) as uow:
        assert uow.subjects.count() == 3
        rep = uow.subjects.get(PERSON2)
        ent = uow.subjects.get(ENTERPRISE)
        person = uow.subjects.get(PERSON)
    assert rep is not None and rep.name == "李四" and rep.kind == "person"
    assert rep.birth_date == dt.date(1991, 1, 1) and rep.region_code == "360426"
    assert ent is not None and ent.kind == "enterprise" and ent.birth_date is None
    assert ent.region_code == "110000"
    assert person is not None and person.birth_date == dt.date(1949, 12, 31)


def test_listings_and_events_share_one_sequence_across_batches(
    engine: Engine, pack: RulePack, bulk: bool
) -> None:
    first = [row("a", decision_date="2024-03-01"), row("b", decision_date="2024-03-02")]
    ingest_table(SqlUnitOfWork(engine), table(first), source="1", pack=pack, today=TODAY)
    second = [
        row("a", event="fulfilled", event_date="2024-03-02", subject_id=None, subject_name=None),
        row("c", decision_date="2024-03-02"),
    ]
    second[0].update(category=None, decision_date=None, legal_basis=None)
    report = ingest_table(SqlUnitOfWork(engine), table(second), source="2", pack=pack, today=TODAY)
    assert (report.accepted, report.rejected) == (2, ())
    with SqlUnitOfWork(engine, readonly=True) as uow:
        events = uow.records.events_for_subject(PERSON)
        assert uow.records.event_count() == 4
    got = [(e.event_date.isoformat(), e.ref.case_number, e.type) for e in events]
    assert got == [
        ("2024-03-01", "a", EventType.LISTED),
        ("2024-03-02", "b", EventType.LISTED),  # accepted in batch 1
        ("2024-03-02", "a", EventType.FULFILLED),  # then these two, in line order
        ("2024-03-02", "c", EventType.LISTED),
    ]
    assert len({e.seq for e in events}) == 4
    with engine.connect() as conn:
        log = conn.exec_driver_sql("SELECT seq, type FROM record_log ORDER BY seq").all()
        after = conn.exec_driver_sql(
            "SELECT count(*) FROM record_log WHERE seq > ?"
            if engine.dialect.name == "sqlite"
            else "SELECT count(*) FROM record_log WHERE seq > %s",
            (log[1][0],),
        ).scalar_one()
    assert [t for _s, t in log] == ["listed", "listed", "fulfilled", "listed"]
    assert after == 2  # the view follows the log by sequence number


def test_a_failed_bulk_batch_leaves_indexes_and_data_as_they_were(
    engine: Engine, pack: RulePack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_ingest, "BULK_MIN_ROWS", 1)
    before = index_names(engine)

    def boom(_done: int) -> None:
        raise RuntimeError("crash after the first chunk")

    rows = [row(f"c{i}") for i in range(10)]
    with pytest.raises(RuntimeError):
        ingest_table(
            SqlUnitOfWork(engine), table(rows), source="t", pack=pack, today=TODAY, progress=boom
        )
    assert index_names(engine) == before
    with SqlUnitOfWork(engine, readonly=True) as uow:
        assert (uow.records.count(), uow.subjects.count()) == (0, 0)
    report = ingest_table(SqlUnitOfWork(engine), table(rows), source="t", pack=pack, today=TODAY)
    assert report.accepted == 10 and not report.already_ingested
