"""A batch's per-line problems are kept with the batch (migration 0009,
``registry/ingest/problems.py``): in its own transaction, the first ``KEPT`` of each kind and
how many there were, in the report's order; none for a batch the store has no rows of."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select
from tests.e2e.conftest import person_id

from socialcredit.domain.rules import RulePack
from socialcredit.registry.ingest import ingest_bytes, problems
from socialcredit.store import tables_batches
from socialcredit.store.sql import SqlUnitOfWork
from socialcredit.store.tables import metadata

TABLES = {"batch_problems", "batch_problem_counts", "uploads"}
TODAY = dt.date(2026, 6, 1)


def _line(case: str, sid: str) -> str:
    return json.dumps(
        {
            "authority": "CAAC",
            "case_number": case,
            "category": "air.prohibited_items",
            "subject_id": sid,
            "subject_name": "王建国",
            "decision_date": "2026-05-06",
            "legal_basis": "NDRC 385",
        },
        ensure_ascii=False,
    )


def _file(good: int, bad: int) -> bytes:
    ok = person_id("110108", "19800512", "123")
    wrong = ok[:-1] + ("0" if ok[-1] != "0" else "1")  # a wrong check character
    lines = [_line(f"CAAC-P-{i}", ok if i < good else wrong) for i in range(good + bad)]
    return ("\n".join(lines) + "\n").encode()


def test_the_migration_matches_the_tables(engine: Engine) -> None:
    assert TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(ctx, metadata) if any(t in repr(d) for t in TABLES)]
    assert diffs == []


def test_problems_are_kept_bounded_in_the_report_order(
    engine: Engine, pack: RulePack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(problems, "KEPT", 3)
    rep = ingest_bytes(
        SqlUnitOfWork(engine), _file(2, 5), "jsonl", source="CAAC/p.jsonl", pack=pack, today=TODAY
    )
    assert rep.accepted == 2 and len(rep.rejected) == 5
    with engine.connect() as conn:
        kept = problems.read(conn, rep.batch_id or 0)
    assert kept.rejected_total == 5 and kept.warnings_total == 0
    assert [p["line"] for p in kept.rejected] == [3, 4, 5]  # the first three, by line
    assert kept.rejected[0]["field"] == "subject_id"
    assert kept.rejected[0]["value"] == rep.rejected[0].value
    # The same file again: nothing changes, nothing is kept twice.
    again = ingest_bytes(
        SqlUnitOfWork(engine), _file(2, 5), "jsonl", source="CAAC/p.jsonl", pack=pack, today=TODAY
    )
    assert again.already_ingested
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(tables_batches.batch_problems))
        assert n.scalar_one() == 3


def test_a_clean_batch_keeps_zero_counts_and_an_unknown_batch_none(
    engine: Engine, pack: RulePack
) -> None:
    rep = ingest_bytes(
        SqlUnitOfWork(engine), _file(1, 0), "jsonl", source="c.jsonl", pack=pack, today=TODAY
    )
    with engine.connect() as conn:
        kept = problems.read(conn, rep.batch_id or 0)
        unknown = problems.read(conn, 999_999)
    assert (kept.rejected_total, kept.warnings_total, kept.rejected) == (0, 0, [])
    assert unknown.rejected_total is None and unknown.rejected == []
