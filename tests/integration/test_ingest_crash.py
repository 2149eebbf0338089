"""Kill -9 in the middle of a batch: the batch is wholly out, and re-running completes it."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine

from socialcredit.domain.rules import RulePack
from socialcredit.registry.ingest import ingest_file
from socialcredit.store import SqlUnitOfWork

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"
TODAY_ISO = "2026-04-01"

CHILD = textwrap.dedent(
    """
    import datetime as dt, sys, time
    from pathlib import Path
    from socialcredit.rulepacks import load_rulepack
    from socialcredit.registry import ingest
    from socialcredit.store import SqlUnitOfWork, make_engine

    ingest.service.WRITE_CHUNK = 5_000  # several chunks, so the kill lands between two of them

    def progress(done: int) -> None:
        # Called inside the open transaction after each chunk is written.
        print(done, flush=True)
        time.sleep(60)

    engine = make_engine(sys.argv[1])
    ingest.ingest_file(SqlUnitOfWork(engine), Path(sys.argv[2]), pack=load_rulepack(),
                       today=dt.date.fromisoformat(sys.argv[3]), progress=progress)
    """
)


def _make_table(n: int) -> object:
    spec = importlib.util.spec_from_file_location("bench_ingest", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_table(n)


def test_sigkill_mid_batch_leaves_it_wholly_out_then_rerun_completes(
    engine: Engine, db_url: str, pack: RulePack, tmp_path: Path
) -> None:
    n = 20_000
    path = tmp_path / "big.parquet"
    pq.write_table(_make_table(n), path)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, str(path), TODAY_ISO],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline().strip()
        assert first == "5000", child.stderr.read() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        if child.stdout:
            child.stdout.close()
        if child.stderr:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    with SqlUnitOfWork(engine, readonly=True) as uow:
        assert (uow.records.count(), uow.records.event_count(), uow.subjects.count()) == (0, 0, 0)
    import datetime as dt

    report = ingest_file(SqlUnitOfWork(engine), path, pack=pack, today=dt.date(2026, 4, 1))
    assert report.accepted == n and not report.already_ingested
    with SqlUnitOfWork(engine, readonly=True) as uow:
        assert (uow.records.count(), uow.records.event_count()) == (n, n)


# --- the transparency log (issue 13): leaves and rows in step through a kill -9 -----------


def _kill_at_first_progress(db_url: str, path: Path, expect: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, str(path), TODAY_ISO],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline().strip()
        assert first == expect, child.stderr.read() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
        for f in (child.stdout, child.stderr):
            if f:
                f.close()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize(
    ("n", "first"),
    [(20_000, "5000"), (60_000, "60000")],
    ids=["chunked", "staged"],  # staged: forked workers hash (SQLite; PostgreSQL chunks)
)
def test_sigkill_mid_batch_leaves_log_leaves_and_rows_in_step(
    engine: Engine, db_url: str, pack: RulePack, tmp_path: Path, n: int, first: str
) -> None:
    """Killed with the rows written and the leaves not yet (the progress callback runs inside
    the transaction, before the leaves are appended and the batch commits): neither is left.
    Run again: every record has its leaf, and each leaf recomputes from its row."""
    import datetime as dt

    from sqlalchemy import text

    from socialcredit.integrity import TableRows, tree_size, verify_log

    if not db_url.startswith("sqlite"):
        first = "5000"  # PostgreSQL never stages: chunks, the first of 5,000 lines
    path = tmp_path / "big.parquet"
    pq.write_table(_make_table(n), path)
    with engine.connect() as conn:
        before = tree_size(conn)
    _kill_at_first_progress(db_url, path, first)
    with engine.connect() as conn:
        assert tree_size(conn) == before
        assert conn.execute(text("SELECT count(*) FROM records")).scalar_one() == 0
    report = ingest_file(SqlUnitOfWork(engine), path, pack=pack, today=dt.date(2026, 4, 1))
    assert report.accepted == n
    with engine.connect() as conn:
        logged = conn.execute(
            text("SELECT sum(length) FROM log_leaves WHERE kind = 'record'")
        ).scalar_one()
        assert logged == n
        v = verify_log(engine, TableRows(conn))
    assert v.bad_leaf_count == 0 and v.rows_checked == v.leaves, v.to_dict()
    assert v.problems == ["no signed head: nothing outside the database vouches for the log"]
