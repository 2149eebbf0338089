"""The ingest repository on SQL: set-wise lookups and bulk appends, one transaction per batch.

Records and subjects go in through the bulk primitives of ``sql_bulk`` (multi-row ``INSERT ...
VALUES`` on SQLite, COPY on PostgreSQL); subjects come deduplicated and sorted by id, so their
B-tree inserts stay local (reading them back out of the records instead costs random reads
that grow with the batch). A batch at least as large as the table it lands in drops the
records' secondary indexes first and rebuilds them before commit: sorting once beats a B-tree
descent per row, and as the DDL is part of the batch's transaction a crash or a rollback
restores them with everything else. PostgreSQL takes COPY for records and events and the same
set-wise subject insert.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, union_all

from socialcredit.domain.records import RecordRef
from socialcredit.store import sql_stage
from socialcredit.store import tables as t
from socialcredit.store.codec import record_from_mapping
from socialcredit.store.ports import (
    BatchInfo,
    EventColumns,
    RecordColumns,
    StoredRecord,
    SubjectColumns,
)
from socialcredit.store.sql_bulk import _raw, bulk_insert, copy_rows, is_pg, stamp, values_insert
from socialcredit.store.sql_stage import StagedWork, Staging

BULK_MIN_ROWS = 20_000  # below this, index maintenance is cheap enough to keep
BIG_CACHE_KB = 2 << 20  # SQLite page cache for a large batch into a large table: 2 GiB
INGEST_LOCK_KEY = 0x5C_1A_6E_57  # pg_advisory_xact_lock key serialising batches
RECORD_COLS = (*RecordColumns.COLUMNS, "batch_id")
EVENT_COLS = (*EventColumns.COLUMNS, "batch_id")
SUBJECT_COLS = (*SubjectColumns.COLUMNS, "created_at")


def _nothing() -> None:
    return None


class SqlIngest:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def lock(self) -> None:
        # SQLite: the unit of work began with BEGIN IMMEDIATE, so we already hold the lock.
        if is_pg(self._c):
            self._c.exec_driver_sql(f"SELECT pg_advisory_xact_lock({INGEST_LOCK_KEY})")

    def find_batch(self, sha256: str) -> BatchInfo | None:
        row = self._c.execute(select(t.batches).where(t.batches.c.sha256 == sha256)).first()
        return None if row is None else BatchInfo(**row._mapping)

    def existing_records(
        self, authorities: Sequence[str], case_numbers: Sequence[str]
    ) -> dict[RecordRef, StoredRecord]:
        if not authorities or self._c.execute(select(t.records.c.id).limit(1)).first() is None:
            return {}
        c = self._c
        c.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS ingest_keys (authority TEXT, case_number TEXT)"
        )
        c.exec_driver_sql("DELETE FROM ingest_keys")
        if is_pg(c):
            # The ranges in the database's own collation, which orders the index.
            bulk_insert(
                c,
                "ingest_keys",
                ("authority", "case_number"),
                zip(authorities, case_numbers, strict=True),
            )
            ranges = c.exec_driver_sql(
                "SELECT authority, min(case_number), max(case_number) FROM ingest_keys "
                "GROUP BY authority"
            ).all()
            if not self._overlapping(ranges):
                c.exec_driver_sql("DELETE FROM ingest_keys")
                return {}
        else:
            # SQLite compares text bytewise, in Python's order of code points. Only a key
            # within its authority's stored range can be stored: a month's new listings lie
            # past it (case numbers carry their year and grow), so what is looked up is the
            # events' keys, not every line of each authority that has any.
            bounds = self._stored_bounds(set(authorities))
            keys = [
                (a, k)
                for a, k in zip(authorities, case_numbers, strict=True)
                if (b := bounds.get(a)) is not None and b[0] <= k <= b[1]
            ]
            if not keys:
                return {}
            # In index order: the join then walks the unique index forwards, page after
            # page, instead of descending to a random leaf of a large index for every key.
            bulk_insert(c, "ingest_keys", ("authority", "case_number"), sorted(keys))
        rows = c.exec_driver_sql(
            "SELECT r.* FROM records r JOIN ingest_keys k "
            "ON r.authority = k.authority AND r.case_number = k.case_number"
        )
        out: dict[RecordRef, StoredRecord] = {}
        names = list(rows.keys())
        for row in rows.fetchall():  # plain tuples: a mapping view per row cost more
            # raw rows: dates as ISO text on SQLite, amounts as text; the codec reads both
            m = dict(zip(names, row, strict=True))
            rec = record_from_mapping(m)
            out[rec.ref] = StoredRecord(int(m["id"]), rec)
        c.exec_driver_sql("DELETE FROM ingest_keys")
        return out

    def _stored_bounds(self, authorities: Iterable[str]) -> dict[str, tuple[str, str]]:
        """(lowest, highest) case number stored for each of ``authorities`` that has any:
        two seeks each at the ends of the unique index."""
        r = t.records.c
        out: dict[str, tuple[str, str]] = {}
        for a in sorted(authorities):
            mine = r.authority == a
            lo = self._c.execute(select(func.min(r.case_number)).where(mine)).scalar()
            if lo is None:
                continue
            hi = self._c.execute(select(func.max(r.case_number)).where(mine)).scalar_one()
            out[a] = (str(lo), str(hi))
        return out

    def _overlapping(self, ranges: Iterable[Sequence[str]]) -> set[str]:
        """The authorities with a stored record within the batch's range of their case
        numbers: one index seek each. Case numbers carry their year, so a month's batch
        usually lies past everything stored and no key needs looking up at all."""
        r = t.records.c
        return {
            a
            for a, lo, hi in ranges
            if self._c.execute(
                select(r.id)
                .where(r.authority == a, r.case_number >= lo, r.case_number <= hi)
                .limit(1)
            ).first()
            is not None
        }

    def existing_fingerprints(self, record_ids: Sequence[int]) -> set[tuple[int, str]]:
        out: set[tuple[int, str]] = set()
        e = t.record_events.c
        ids = sorted(set(record_ids))
        for i in range(0, len(ids), 500):
            q = select(e.record_id, e.fingerprint).where(e.record_id.in_(ids[i : i + 500]))
            out.update((int(a), str(b)) for a, b in self._c.execute(q))
        return out

    def next_seq(self) -> int:
        top = union_all(
            select(func.coalesce(func.max(t.records.c.id), 0).label("m")),
            select(func.coalesce(func.max(t.record_events.c.id), 0).label("m")),
        ).subquery()
        return int(self._c.execute(select(func.max(top.c.m))).scalar_one()) + 1

    def add_batch(
        self,
        *,
        source_name: str,
        sha256: str,
        received_at: dt.datetime,
        lines: int,
        accepted: int,
        duplicates: int,
        rejected: int,
    ) -> int:
        res = self._c.execute(
            insert(t.batches).values(
                source_name=source_name,
                sha256=sha256,
                received_at=received_at,
                lines=lines,
                accepted=accepted,
                duplicates=duplicates,
                rejected=rejected,
            )
        )
        pk = res.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def _drop_indexes(self, rows: int) -> list[str]:
        """Drop the records' secondary indexes (and on PostgreSQL their foreign keys) when a
        bulk load of ``rows`` is worth a rebuild; return the statements that recreate them.

        DDL is transactional on both backends, so a crash or rollback restores them. On
        PostgreSQL this locks the table against readers until commit, which is why it is kept
        for loads at least as large as the table (a first load, a region joining).
        """
        if rows < BULK_MIN_ROWS:
            return []
        # max(id) bounds the row count from above (ids are sequence numbers) and, unlike
        # count(*), costs one B-tree descent on a table of millions.
        top = self._c.execute(select(func.coalesce(func.max(t.records.c.id), 0))).scalar_one()
        if rows < int(top):
            return []
        c = self._c
        if is_pg(c):
            # Row-by-row foreign-key triggers and index inserts cost 2.6x a COPY into the
            # bare table followed by one index build and one set-wise constraint check each.
            idx = c.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename = 'records' AND indexname NOT IN (SELECT conname FROM"
                " pg_constraint WHERE conrelid = 'records'::regclass)"
            ).all()
            fks = c.exec_driver_sql(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = 'records'::regclass AND contype = 'f'"
            ).all()
            for name, _d in fks:
                c.exec_driver_sql(f'ALTER TABLE records DROP CONSTRAINT "{name}"')
            for name, _d in idx:
                c.exec_driver_sql(f'DROP INDEX "{name}"')
            return [str(d) for _n, d in idx] + [
                f'ALTER TABLE records ADD CONSTRAINT "{n}" {d}' for n, d in fks
            ]
        found = c.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'records' AND sql IS NOT NULL"
        ).all()
        for name, _sql in found:
            c.exec_driver_sql(f'DROP INDEX "{name}"')
        return [str(sql) for _name, sql in found]

    def write(
        self,
        batch_id: int,
        created_at: dt.datetime,
        chunks: Iterable[tuple[RecordColumns, EventColumns]],
        *,
        rows: int,
        subjects: SubjectColumns,
    ) -> None:
        rebuild = self._drop_indexes(rows)
        restore = self._grow_cache(rows, rebuild)
        try:
            for records, events in chunks:
                if len(records):
                    self._append(records, RECORD_COLS, "records", batch_id)
                if len(events):
                    self._append(events, EVENT_COLS, "record_events", batch_id)
            self._rebuild(rebuild)
            self._add_subjects(subjects, stamp(created_at))
        finally:
            restore()

    def write_staged(
        self,
        batch_id: int,
        created_at: dt.datetime,
        work: StagedWork,
        events: Iterable[EventColumns],
        *,
        rows: int,
    ) -> bool:
        """:meth:`write` with the records and subjects built and bound by forked workers
        (``store/sql_stage.py``); the ``events`` go in after the records. Returns False,
        having written nothing, where that does not pay (PostgreSQL, one core, few rows)."""
        n = sql_stage.workers()
        if is_pg(self._c) or n < 2 or rows < sql_stage.STAGE_MIN_ROWS:
            return False
        root = sql_stage.scratch_root(self._c.engine.url.database)
        staging = Staging(work, n, values_insert, root)  # the workers start now
        restore = _nothing
        try:
            rebuild = self._drop_indexes(rows)
            restore = self._grow_cache(rows, rebuild)
            staging.copy_records(self._c, batch_id)
            for ev in events:
                if len(ev):
                    self._append(ev, EVENT_COLS, "record_events", batch_id)
            self._rebuild(rebuild)  # the workers bind the subjects meanwhile
            staging.copy_subjects(self._c, stamp(created_at))
            staging.finish()
        finally:
            restore()
            staging.close()
        return True

    def _grow_cache(self, rows: int, rebuild: Sequence[str]) -> Callable[[], None]:
        """SQLite, a large batch into a larger table (indexes kept): a page cache that holds
        the indexes it inserts into, for this batch; returns what puts the old size back.

        The batch's keys land all over the records' subject index and the subjects' key
        index: with a cache smaller than those, each insert read a page back and dirty
        pages were spilled to the WAL mid-transaction, again and again, so the cost grew
        with the registry. Pages are allocated only as they are used.
        """
        if is_pg(self._c) or rebuild or rows < BULK_MIN_ROWS:
            return _nothing
        c = self._c
        old = int(c.exec_driver_sql("PRAGMA cache_size").scalar_one())
        c.exec_driver_sql(f"PRAGMA cache_size=-{BIG_CACHE_KB}")

        def restore() -> None:
            c.exec_driver_sql(f"PRAGMA cache_size={old}")

        return restore

    def _rebuild(self, statements: Sequence[str]) -> None:
        if statements and not is_pg(self._c):
            # SQLite's sorter may use helper threads for CREATE INDEX; they cost nothing idle.
            self._c.exec_driver_sql(f"PRAGMA threads={min(4, os.cpu_count() or 1)}")
        for sql in statements:
            self._c.exec_driver_sql(sql)

    def _append(self, cols: Any, names: Sequence[str], table: str, batch_id: int) -> None:
        n = len(cols)
        if is_pg(self._c):
            data = [getattr(cols, k) for k in names[:-1]]
            copy_rows(self._c, table, names, zip(*data, [batch_id] * n, strict=True))
        else:
            data = [getattr(cols, k) for k in names[:-1]]
            values_insert(_raw(self._c), table, names, [*data, [batch_id] * n])

    def _add_subjects(self, subjects: SubjectColumns, created: str) -> None:
        """Insert the subjects whose id is not stored yet, in the order given."""
        n = len(subjects)
        if not n:
            return
        if is_pg(self._c):
            # COPY cannot skip duplicates: stage, then insert what is absent, set-wise.
            self._c.exec_driver_sql(
                "CREATE TEMP TABLE IF NOT EXISTS ingest_subjects "
                "(LIKE subjects INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            self._c.exec_driver_sql("DELETE FROM ingest_subjects")
            data = [getattr(subjects, k) for k in SubjectColumns.COLUMNS]
            copy_rows(
                self._c, "ingest_subjects", SUBJECT_COLS, zip(*data, [created] * n, strict=True)
            )
            names = ", ".join(SUBJECT_COLS)
            self._c.exec_driver_sql(
                f"INSERT INTO subjects ({names}) SELECT {names} FROM ingest_subjects "
                "ORDER BY id ON CONFLICT (id) DO NOTHING"
            )
            return
        data = [getattr(subjects, k) for k in SubjectColumns.COLUMNS]
        values_insert(
            _raw(self._c), "subjects", SUBJECT_COLS, [*data, [created] * n], verb="INSERT OR IGNORE"
        )
