"""The SQL store on both backends: migrations, repositories, the unit of work."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, inspect

from socialcredit.domain.records import Authority
from socialcredit.store import SqlUnitOfWork, migrate
from socialcredit.store.ports import Subject


def test_migrate_creates_every_table_and_is_repeatable(engine: Engine) -> None:
    migrate(engine)  # a second run is a no-op
    names = set(inspect(engine).get_table_names())
    assert {
        "authorities",
        "subjects",
        "records",
        "record_events",
        "batches",
        "calendar_days",
        "calendar_years",
        "alembic_version",
    } <= names


def test_reference_authorities_are_seeded_with_their_categories(uow: SqlUnitOfWork) -> None:
    with uow:
        cr = uow.authorities.get("CR")
        court = uow.authorities.get("SPC-BJ-HD")
        codes = [a.code for a in uow.authorities.list()]
    assert cr is not None and cr.may_submit("rail.fare_evasion")
    assert not cr.may_submit("court.defaulter.refuses")
    assert court is not None and court.may_submit("court.defaulter.refuses")
    assert {"STA", "CAAC", "MPS-RAIL", "MOHRSS", "CSRC", "SAMR", "MOF"} <= set(codes)


def test_uncommitted_work_is_rolled_back(engine: Engine) -> None:
    with SqlUnitOfWork(engine) as uow:
        uow.authorities.add(Authority("X", "X court", "court", frozenset()))
    with SqlUnitOfWork(engine) as uow:
        assert uow.authorities.get("X") is None


def test_exception_rolls_back(engine: Engine) -> None:
    with pytest.raises(RuntimeError), SqlUnitOfWork(engine) as uow:
        uow.subjects.add_many([Subject("11010519491231002X", "person", "Zhang", "110105")])
        raise RuntimeError("boom")
    with SqlUnitOfWork(engine) as uow:
        assert uow.subjects.count() == 0


def test_subjects_add_many_skips_existing(uow: SqlUnitOfWork) -> None:
    born = dt.date(1949, 12, 31)
    with uow:
        s = Subject("11010519491231002X", "person", "Zhang", "110105", born)
        assert uow.subjects.add_many([s]) == 1
        assert (
            uow.subjects.add_many([s, Subject("91110000600037341L", "enterprise", "Co", "110000")])
            == 1
        )
        uow.commit()
    with uow:
        assert uow.subjects.count() == 2
        got = uow.subjects.get("11010519491231002X")
        assert got is not None and got.birth_date == born
