"""The staged path's log: leaf hashes and the stored subtrees' roots worked out in the
staging workers are those of the serial path, and ``log verify`` recomputes every leaf."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine
from tests.integration.test_ingest_staged import TODAY, row, sqlite_engine

from socialcredit.domain.rules import RulePack
from socialcredit.integrity import (
    TableRows,
    append_hashes,
    leaf_hashes,
    merkle,
    sign_head,
    verify_log,
)
from socialcredit.integrity import store as log_store
from socialcredit.integrity.note import load_or_create_key
from socialcredit.registry.ingest import ingest_table, leafcols
from socialcredit.store import SqlUnitOfWork, make_engine, migrate, sql_stage

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="staging forks workers")
NOW = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)


def _table(prefix: str, n: int, bad_at: int | None = None) -> pa.Table:
    rows = [row(f"{prefix}{i}", amount_owed=["7", "0.5", "12.30", None][i % 4]) for i in range(n)]
    if bad_at is not None:  # the new records' lines are then not consecutive
        rows.insert(bad_at, row("bad", subject_id="123"))
    return pa.table({f: pa.array([r[f] for r in rows], pa.string()) for f in rows[0]})


def _log(eng: Engine) -> tuple[list[tuple[Any, ...]], list[bytes]]:
    """The leaves' (index, kind, ref) runs and the record leaves' hashes; and every stored
    subtree checked against the tree of the stored leaf hashes."""
    with eng.connect() as conn:
        runs = conn.exec_driver_sql(
            "SELECT idx, length, kind, ref, ref_num FROM log_leaves ORDER BY idx"
        ).all()
        tiles = conn.exec_driver_sql("SELECT hashes FROM log_tiles ORDER BY idx").all()
        nodes = conn.exec_driver_sql("SELECT level, idx, hash FROM log_nodes").all()
    flat = b"".join(bytes(t.hashes) for t in tiles)
    hashes = [flat[i : i + 32] for i in range(0, len(flat), 32)]
    tree = merkle.MemoryTree(hashes)
    assert nodes and all(bytes(h) == tree.node(lv, i) for lv, i, h in nodes)
    records = [h for r in runs if r.kind == "record" for h in hashes[r.idx : r.idx + r.length]]
    return [tuple(r) for r in runs], records


def test_worker_hashes_and_subtree_roots_are_the_serial_ones(
    tmp_path: Path, pack: RulePack, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = []
    known: list[int] = []
    orig = log_store.store_subtrees

    def spy(conn: Any, n0: int, n1: int, new: Any = None, roots: Any = None) -> int:
        known.append(len(roots or {}))
        return orig(conn, n0, n1, new, roots)

    monkeypatch.setattr(log_store, "store_subtrees", spy)
    monkeypatch.setattr(sql_stage, "STAGE_MIN_ROWS", 1)
    monkeypatch.setattr(leafcols, "HASH_LINES", 300)  # leaves built a few hundred at a time
    for mode in ("serial", "staged"):
        eng = sqlite_engine(tmp_path / f"{mode}.db", pack)
        # a first batch leaves the log at a size no subtree boundary falls on
        monkeypatch.setattr(sql_stage, "workers", lambda: 0)
        ingest_table(SqlUnitOfWork(eng), _table("a", 37), source="a", pack=pack, today=TODAY)
        monkeypatch.setattr(sql_stage, "workers", lambda mode=mode: 2 if mode == "staged" else 0)
        known.clear()
        report = ingest_table(
            SqlUnitOfWork(eng), _table("b", 1300, bad_at=400), source="b", pack=pack, today=TODAY
        )
        assert report.accepted == 1300 and len(report.rejected) == 1
        # staged: the workers' parts (650 records each) hold whole blocks of 256 leaves
        assert (max(known) > 0) == (mode == "staged")
        key = load_or_create_key(tmp_path / f"{mode}.pem", "test.invalid/log")
        with eng.begin() as conn:
            sign_head(conn, key, NOW)
        with eng.connect() as conn:
            verdict = verify_log(eng, TableRows(conn), vkey=key.vkey())
        assert verdict.ok, verdict.problems
        assert verdict.rows_checked == verdict.leaves > 1300
        logs.append(_log(eng))
        eng.dispose()
    assert logs[0] == logs[1]
    assert len(logs[0][1]) == 37 + 1300


def test_roots_worked_out_for_another_start_are_not_used(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    migrate(eng)
    hashes = b"".join(leaf_hashes([str(i).encode() for i in range(600)]))
    with eng.begin() as conn:
        append_hashes(conn, "x", range(1, 11), hashes[: 10 * 32])
        wrong = log_store.block_roots(9, hashes[10 * 32 :])  # the log is 10 long, not 9
        append_hashes(conn, "x", range(11, 601), hashes[10 * 32 :], roots=(9, wrong))
    with eng.connect() as conn:
        got = log_store.root_at(conn, 600)
    tree = merkle.MemoryTree(hashes[i : i + 32] for i in range(0, len(hashes), 32))
    assert got == tree.root()
    with eng.connect() as conn:  # the stored subtrees give the leaves' root
        nodes = conn.exec_driver_sql("SELECT level, idx, hash FROM log_nodes").all()
    assert {(lv, i): bytes(h) for lv, i, h in nodes} == {
        (lv, i): tree.node(lv, i) for lv in (8, 9) for i in range(600 >> lv)
    }
    eng.dispose()


def test_a_worker_failing_to_hash_fails_the_batch_and_writes_nothing(
    tmp_path: Path, pack: RulePack, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*a: Any) -> bytes:
        raise ValueError("worker trouble while hashing")

    monkeypatch.setattr(sql_stage, "STAGE_MIN_ROWS", 1)
    monkeypatch.setattr(sql_stage, "workers", lambda: 2)
    monkeypatch.setattr(leafcols, "record_hashes", boom)
    eng = sqlite_engine(tmp_path / "r.db", pack)
    with eng.connect() as conn:
        before = conn.exec_driver_sql("SELECT count(*) FROM log_tiles").scalar_one()
    with pytest.raises(sql_stage.StagingError, match="worker trouble while hashing"):
        ingest_table(SqlUnitOfWork(eng), _table("c", 40), source="c", pack=pack, today=TODAY)
    with eng.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM records").scalar_one() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM log_tiles").scalar_one() == before
    eng.dispose()
