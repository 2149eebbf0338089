"""Migration 0010 drops the audit log's retired hash chain and logs every entry again, so
``log verify`` still recomputes every audit leaf from its row; a downgrade puts it back.
Both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import socialcredit.store.tables_dueprocess  # noqa: F401  (registers the tables)
from socialcredit.integrity import TableRows, append_leaves, leaf_payload, verify_log
from socialcredit.integrity import audit as audit_trail
from socialcredit.store import make_engine, migrate
from socialcredit.store.tables import metadata

NOW = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
BEFORE = ["0006", "0008", "0007", "0004", "0005"]  # every head but 0010


def _columns(engine: object) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("audit_log")}  # type: ignore[arg-type]


def test_the_chain_is_dropped_and_every_entry_still_verifies(db_url: str) -> None:
    eng = make_engine(db_url)
    for rev in BEFORE:
        migrate(eng, rev)
    assert {"prev_hash", "hash"} <= _columns(eng)
    with eng.begin() as conn:  # entries as the chain's writer left them, each a leaf
        for seq in (1, 2, 3):
            row = {
                "seq": seq,
                "at": f"2026-12-0{seq}T10:00:00.000000",
                "actor": "operator",
                "action": "read",
                "subject_id": None if seq == 2 else "11010519491231002X",
                "target": "file",
                "details": "{}",
                "prev_hash": "0" * 64,
                "hash": f"{seq}" * 64,
            }
            names = ", ".join(row)
            marks = ", ".join(f":{k}" for k in row)
            conn.execute(text(f"INSERT INTO audit_log ({names}) VALUES ({marks})"), row)
            append_leaves(conn, "audit", [seq], [leaf_payload("audit", row)])
    migrate(eng)
    assert not {"prev_hash", "hash"} & _columns(eng)
    with eng.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert [d for d in compare_metadata(ctx, metadata) if "audit_log" in repr(d)] == []
        verdict = verify_log(eng, TableRows(conn))
        kinds = conn.execute(text("SELECT sum(length) FROM log_leaves WHERE kind = 'audit'"))
        assert kinds.scalar_one() == 6  # each entry logged again, as it now stands
    assert verdict.bad_leaf_count == 0 and verdict.rows_checked == 6
    with eng.begin() as conn:  # the writer without the chain
        assert audit_trail.append(conn, NOW, "operator", "read", target="file") == 4
    with eng.connect() as conn:
        assert verify_log(eng, TableRows(conn)).bad_leaf_count == 0
    eng.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_downgrade_puts_the_chain_back_as_it_was_written(db_url: str) -> None:
    from alembic import command

    from socialcredit.store.db import alembic_config

    eng = make_engine(db_url)
    migrate(eng)
    with eng.begin() as conn:
        for _ in range(3):
            audit_trail.append(conn, NOW, "operator", "read", target="file")
    cfg = alembic_config(eng)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010-1")
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT prev_hash, hash FROM audit_log ORDER BY seq")).all()
    assert rows[0][0] == "0" * 64 and rows[1][0] == rows[0][1] and rows[2][0] == rows[1][1]
    eng.dispose()
