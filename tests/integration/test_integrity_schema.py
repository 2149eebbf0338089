"""Migration 0006 creates exactly the log's tables as ``store/tables_integrity.py`` says."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

import socialcredit.store.tables_integrity  # noqa: F401  (registers the tables)
from socialcredit.store.tables import metadata

LOG_TABLES = {"log_leaves", "log_tiles", "log_nodes", "log_heads"}


def _touches_log(diff: object) -> bool:
    return any(t in repr(diff) for t in LOG_TABLES)


def test_the_migration_matches_the_tables(engine: Engine) -> None:
    assert LOG_TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(ctx, metadata) if _touches_log(d)]
    assert diffs == []
