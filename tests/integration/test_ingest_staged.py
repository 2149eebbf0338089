"""The staged SQLite path (forked workers binding into scratch files) against the serial one."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine

from socialcredit.domain.rules import RulePack
from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.registry.ingest import columns, ingest_table
from socialcredit.store import SqlUnitOfWork, make_engine, migrate, sql_ingest, sql_stage

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="staging forks workers")

TODAY = dt.date(2026, 4, 1)
PEOPLE = ["11010519491231002X", "360426199101010071"]
ENTERPRISE = "91110000600037341L"


def row(case: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event": "listed",
        "authority": "SPC-BJ-HD",
        "case_number": case,
        "event_date": None,
        "category": "court.defaulter.refuses",
        "subject_id": PEOPLE[0],
        "subject_name": "张三",
        "decision_date": "2024-03-01",
        "legal_basis": "SPC Provisions Art. 1(1)",
        "amount_owed": None,
        "evidence_ref": None,
        "legal_representative_id": None,
        "legal_representative_name": None,
        "reason": None,
    }
    base.update(over)
    return base


def batch() -> pa.Table:
    """Listings (people, an enterprise with a representative), duplicates, a conflict, a bad
    line and events, so every branch of the write path has rows."""
    rows = [
        row("e1", subject_id=ENTERPRISE, subject_name="某公司", legal_representative_id=PEOPLE[1])
        | {"legal_representative_name": "代表人", "amount_owed": "12.50"},
        row("p1", subject_id=PEOPLE[1], subject_name="李四", evidence_ref="卷1"),
    ]
    rows += [row(f"c{i}", decision_date=f"2024-03-{i % 28 + 1:02d}") for i in range(40)]
    rows += [
        row("p1", subject_id=PEOPLE[1], subject_name="李四", evidence_ref="卷1"),  # duplicate
        row("c3", subject_name="王五"),  # conflicts with line 6
        row("bad", subject_id="123"),
        row("c5", event="fulfilled", event_date="2024-04-01"),
        row("c7", event="withdrawn", event_date="2024-04-02", reason="listed_in_error"),
    ]
    return pa.table({k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0]})


def sqlite_engine(path: Path, pack: RulePack) -> Engine:
    eng = make_engine(f"sqlite:///{path}")
    migrate(eng)
    with SqlUnitOfWork(eng) as uow:
        seed_reference_authorities(uow, pack)
        uow.commit()
    return eng


def dump(eng: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the batch wrote, timestamps aside (they differ between two runs)."""
    out = {}
    queries = {
        "records": "SELECT * FROM records ORDER BY id",
        "events": "SELECT * FROM record_events ORDER BY id",
        "subjects": "SELECT id, kind, name, birth_date, region_code FROM subjects ORDER BY rowid",
        "batches": "SELECT lines, accepted, duplicates, rejected FROM batches ORDER BY id",
    }
    with eng.connect() as conn:
        for name, sql in queries.items():
            out[name] = [tuple(r) for r in conn.exec_driver_sql(sql)]
    return out


@pytest.fixture
def staged(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(sql_stage, "STAGE_MIN_ROWS", 1)
    monkeypatch.setattr(sql_stage, "workers", lambda: 2)
    yield


@pytest.mark.parametrize("rebuild", [False, True], ids=["incremental", "rebuild"])
def test_staged_rows_are_exactly_the_serial_rows(
    tmp_path: Path, pack: RulePack, monkeypatch: pytest.MonkeyPatch, rebuild: bool
) -> None:
    if rebuild:
        monkeypatch.setattr(sql_ingest, "BULK_MIN_ROWS", 1)
    results = []
    for mode in ("serial", "staged"):
        eng = sqlite_engine(tmp_path / f"{mode}.db", pack)
        with monkeypatch.context() as m:
            m.setattr(sql_stage, "workers", lambda mode=mode: 2 if mode == "staged" else 0)
            m.setattr(sql_stage, "STAGE_MIN_ROWS", 1)
            calls: list[str] = []
            write_staged = sql_ingest.SqlIngest.write_staged

            def spy(
                self: Any, *a: Any, calls: list[str] = calls, orig: Any = write_staged, **k: Any
            ) -> bool:
                done = bool(orig(self, *a, **k))
                calls.append("staged" if done else "serial")
                return done

            m.setattr(sql_ingest.SqlIngest, "write_staged", spy)
            report = ingest_table(SqlUnitOfWork(eng), batch(), source="b", pack=pack, today=TODAY)
            again = ingest_table(SqlUnitOfWork(eng), batch(), source="b", pack=pack, today=TODAY)
        assert calls == [mode]
        assert again.already_ingested
        results.append((report.accepted, report.duplicates, report.rejected, dump(eng)))
        eng.dispose()
    assert results[0][0] == 44 and results[0][1] == 1 and len(results[0][2]) == 2
    assert results[0] == results[1]


def test_a_staged_engine_takes_batch_after_batch(
    tmp_path: Path, pack: RulePack, staged: None
) -> None:
    # The scratch files are detached when the connection goes back to the pool, so the
    # next batch on the same pooled connection attaches its own.
    eng = sqlite_engine(tmp_path / "r.db", pack)
    for k in range(3):
        rows = [row(f"{k}-{i}") for i in range(30)]
        t = pa.table({f: pa.array([r[f] for r in rows], pa.string()) for f in rows[0]})
        report = ingest_table(SqlUnitOfWork(eng), t, source=f"b{k}", pack=pack, today=TODAY)
        assert (report.accepted, report.rejected) == (30, ())
    with eng.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM records").scalar_one() == 90
        names = [r[1] for r in conn.exec_driver_sql("PRAGMA database_list")]
    assert not [n for n in names if n.startswith("staged")]
    eng.dispose()


@pytest.mark.parametrize("part", ["records", "subjects"])
def test_a_failing_worker_fails_the_batch_and_writes_nothing(
    tmp_path: Path, pack: RulePack, staged: None, monkeypatch: pytest.MonkeyPatch, part: str
) -> None:
    def boom(self: Any, k: int, n: int) -> Any:
        if k == 1:
            raise ValueError(f"worker trouble in {part} part {k}")
        return getattr(columns.Work, f"_orig_{part}")(self, k, n)

    monkeypatch.setattr(columns.Work, f"_orig_{part}", getattr(columns.Work, part), raising=False)
    monkeypatch.setattr(columns.Work, part, boom)
    eng = sqlite_engine(tmp_path / "r.db", pack)
    with pytest.raises(sql_stage.StagingError, match=f"worker trouble in {part} part 1"):
        ingest_table(SqlUnitOfWork(eng), batch(), source="b", pack=pack, today=TODAY)
    assert dump(eng) == {"records": [], "events": [], "subjects": [], "batches": []}
    eng.dispose()


def test_a_worker_that_dies_is_reported(
    tmp_path: Path, pack: RulePack, staged: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def die(self: Any, k: int, n: int) -> Any:
        os._exit(3)

    monkeypatch.setattr(columns.Work, "records", die)
    eng = sqlite_engine(tmp_path / "r.db", pack)
    with pytest.raises(sql_stage.StagingError, match="exited without a word"):
        ingest_table(SqlUnitOfWork(eng), batch(), source="b", pack=pack, today=TODAY)
    assert dump(eng)["records"] == []
    eng.dispose()


def test_a_worker_with_an_empty_share_stages_nothing(
    tmp_path: Path, pack: RulePack, staged: None
) -> None:
    eng = sqlite_engine(tmp_path / "r.db", pack)
    t = pa.table({f: pa.array([v], pa.string()) for f, v in row("only").items()})
    report = ingest_table(SqlUnitOfWork(eng), t, source="b", pack=pack, today=TODAY)
    assert (report.accepted, report.rejected) == (1, ())
    assert [r[2] for r in dump(eng)["records"]] == ["only"]
    eng.dispose()
