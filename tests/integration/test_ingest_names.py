"""Name mismatch at ingest (issue 11): a line whose name differs from the registry's name for
its ID is accepted with a warning on its line and flagged in the file and the clerk's table,
or refused with ``strict_names`` (``--strict-names``); notices use the registry's name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine
from tests.integration.test_ingest import PERSON, PERSON2, ingest, listed, write

from socialcredit.domain.rules import RulePack
from socialcredit.registry import name_mismatches
from socialcredit.runtime.registry import open_registry
from socialcredit.settings import Settings
from socialcredit.store import SqlUnitOfWork


def test_a_differing_name_is_accepted_with_a_warning_and_flagged(
    engine: Engine, uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path, db_url: str
) -> None:
    ingest(uow, write(tmp_path / "a.jsonl", [listed()]), pack)  # 张三 is the registry's name
    rows = [
        listed("b1", subject_name="张 三"),  # same name, a space: not a mismatch
        listed("b2", subject_name="张山"),  # differs from the stored name
        listed("b3", subject_id=PERSON2, subject_name="李四"),  # new ID: its first line names it
        listed("b4", subject_id=PERSON2, subject_name="李斯"),  # differs from line 3
    ]
    report_ = ingest(SqlUnitOfWork(engine), write(tmp_path / "b.jsonl", rows), pack)
    assert report_.accepted == 4 and not report_.rejected
    assert [(w.line, w.field, w.value) for w in report_.warnings] == [
        (2, "subject_name", "张山"),
        (4, "subject_name", "李斯"),
    ]
    assert "张三" in report_.warnings[0].reason and "李四" in report_.warnings[1].reason

    reg = open_registry(Settings(database_url=db_url), migrate_schema=False)
    try:
        got = name_mismatches(reg)
        assert [(m["case_number"], m["record_name"], m["registry_name"]) for m in got] == [
            ("b2", "张山", "张三"),
            ("b4", "李斯", "李四"),
        ]
        from socialcredit.registry import subject_file

        f = subject_file(reg, PERSON, dt.date(2026, 4, 1)).to_dict()
        assert f["subject"]["name"] == "张三"
        flags = {r["case_number"]: r["name_differs"] for r in f["records"]}
        assert flags["b2"] is True and flags["b1"] is False
    finally:
        reg.engine.dispose()


def test_strict_names_refuses_the_line(
    engine: Engine, uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path
) -> None:
    ingest(uow, write(tmp_path / "a.jsonl", [listed()]), pack)
    rows = [listed("s1"), listed("s2", subject_name="王五")]
    report = ingest(
        SqlUnitOfWork(engine), write(tmp_path / "b.jsonl", rows), pack, strict_names=True
    )
    assert report.accepted == 1
    assert [(p.line, p.field) for p in report.rejected] == [(2, "subject_name")]
    assert "strict" in report.rejected[0].reason
