"""SQLAlchemy repositories and the unit of work over one connection and transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from itertools import repeat
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, RowMapping, func, insert, select

from socialcredit.domain.records import Authority, EventType, Record, RecordEvent, RecordRef
from socialcredit.store import tables as t
from socialcredit.store.codec import record_from_json, record_from_mapping
from socialcredit.store.ports import (
    BatchInfo,
    EventColumns,
    RecordColumns,
    StoredRecord,
    Subject,
    SubjectColumns,
)

CHUNK = 100_000
INGEST_LOCK_KEY = 0x5C_1A_6E_57  # pg_advisory_xact_lock key serialising batches


def _stamp(ts: dt.datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime reads back; PostgreSQL casts it as well.
    return ts.strftime("%Y-%m-%d %H:%M:%S.%f")


class SqlAuthorities:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, authority: Authority) -> None:
        self._c.execute(
            insert(t.authorities).values(
                code=authority.code,
                name=authority.name,
                kind=authority.kind,
                categories=sorted(authority.categories),
            )
        )

    @staticmethod
    def _of(row: RowMapping) -> Authority:
        return Authority(row["code"], row["name"], row["kind"], frozenset(row["categories"]))

    def get(self, code: str) -> Authority | None:
        row = self._c.execute(select(t.authorities).where(t.authorities.c.code == code)).first()
        return None if row is None else self._of(row._mapping)

    def list(self) -> list[Authority]:
        rows = self._c.execute(select(t.authorities).order_by(t.authorities.c.code))
        return [self._of(r._mapping) for r in rows]


class SqlSubjects:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add_many(self, subjects: Iterable[Subject]) -> int:
        now = _stamp(dt.datetime.now(dt.UTC).replace(tzinfo=None))
        rows = [
            (
                s.id,
                s.kind,
                s.name,
                None if s.birth_date is None else s.birth_date.isoformat(),
                s.region_code,
                s.contact_email,
                s.legal_representative_id,
                now,
            )
            for s in subjects
        ]
        before = self.count()
        _insert_absent_subjects(self._c, rows, with_contact=True)
        return self.count() - before

    def get(self, subject_id: str) -> Subject | None:
        row = self._c.execute(select(t.subjects).where(t.subjects.c.id == subject_id)).first()
        if row is None:
            return None
        m = row._mapping
        return Subject(
            id=m["id"],
            kind=m["kind"],
            name=m["name"],
            region_code=m["region_code"],
            birth_date=m["birth_date"],
            contact_email=m["contact_email"],
            legal_representative_id=m["legal_representative_id"],
        )

    def count(self) -> int:
        return int(self._c.execute(select(func.count()).select_from(t.subjects)).scalar_one())


class SqlRecords:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, authority: str, case_number: str) -> Record | None:
        r = t.records.c
        row = self._c.execute(
            select(t.records).where(r.authority == authority, r.case_number == case_number)
        ).first()
        return None if row is None else record_from_mapping(row._mapping)

    def events_for_subject(self, subject_id: str) -> list[RecordEvent]:
        r, e = t.records.c, t.record_events.c
        q = (
            select(
                t.records,
                e.id.label("event_id"),
                e.type,
                e.event_date,
                e.payload,
                e.reason,
            )
            .join(t.record_events, e.record_id == r.id)
            .where((r.subject_id == subject_id) | (r.legal_representative_id == subject_id))
            .order_by(e.event_date, e.id)
        )
        out: list[RecordEvent] = []
        for row in self._c.execute(q):
            m = row._mapping
            kind = EventType(m["type"])
            if kind is EventType.LISTED:
                record: Record | None = record_from_mapping(m)
            elif kind is EventType.CORRECTED and m["payload"] is not None:
                record = record_from_json(m["payload"])
            else:
                record = None
            out.append(
                RecordEvent(
                    ref=RecordRef(m["authority"], m["case_number"]),
                    type=kind,
                    event_date=m["event_date"],
                    record=record,
                    reason=m["reason"],
                    seq=int(m["event_id"]),
                )
            )
        return out

    def subject_ids_with_records(self) -> list[str]:
        q = select(t.records.c.subject_id).distinct().order_by(t.records.c.subject_id)
        return list(self._c.execute(q).scalars())

    def counts_by_category(self) -> dict[str, int]:
        c = t.records.c.category
        rows = self._c.execute(select(c, func.count()).group_by(c).order_by(c))
        return {cat: int(n) for cat, n in rows}

    def count(self) -> int:
        return int(self._c.execute(select(func.count()).select_from(t.records)).scalar_one())

    def event_count(self) -> int:
        q = select(func.count()).select_from(t.record_events)
        return int(self._c.execute(q).scalar_one())


def _is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Any]) -> None:
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def _bulk_insert(conn: Connection, table: str, columns: Sequence[str], rows: list[Any]) -> None:
    if not rows:
        return
    if _is_pg(conn):
        _copy_rows(conn, table, columns, rows)
        return
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    for i in range(0, len(rows), CHUNK):
        conn.exec_driver_sql(sql, rows[i : i + CHUNK])


SUBJECT_COLS = (
    "id",
    "kind",
    "name",
    "birth_date",
    "region_code",
    "contact_email",
    "legal_representative_id",
    "created_at",
)


def _insert_absent_subjects(conn: Connection, rows: list[Any], *, with_contact: bool) -> None:
    """Insert subject rows whose id is not stored yet (existing rows are left untouched)."""
    if not rows:
        return
    cols = (
        SUBJECT_COLS
        if with_contact
        else ("id", "kind", "name", "birth_date", "region_code", "created_at")
    )
    if _is_pg(conn):
        # COPY cannot skip duplicates: stage, then insert what is absent, set-wise.
        conn.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS ingest_subjects "
            "(LIKE subjects INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        conn.exec_driver_sql("DELETE FROM ingest_subjects")
        _copy_rows(conn, "ingest_subjects", cols, rows)
        names = ", ".join(cols)
        conn.exec_driver_sql(
            f"INSERT INTO subjects ({names}) SELECT DISTINCT ON (id) {names} FROM ingest_subjects "
            "ORDER BY id ON CONFLICT (id) DO NOTHING"
        )
        return
    marks = ", ".join("?" * len(cols))
    sql = f"INSERT OR IGNORE INTO subjects ({', '.join(cols)}) VALUES ({marks})"
    for i in range(0, len(rows), CHUNK):
        conn.exec_driver_sql(sql, rows[i : i + CHUNK])


class SqlIngest:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def lock(self) -> None:
        # SQLite: the unit of work began with BEGIN IMMEDIATE, so we already hold the lock.
        if _is_pg(self._c):
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
        _bulk_insert(
            c,
            "ingest_keys",
            ("authority", "case_number"),
            list(zip(authorities, case_numbers, strict=True)),
        )
        rows = c.exec_driver_sql(
            "SELECT r.* FROM records r JOIN ingest_keys k "
            "ON r.authority = k.authority AND r.case_number = k.case_number"
        )
        out: dict[RecordRef, StoredRecord] = {}
        for row in rows:
            # raw rows: dates as ISO text on SQLite, amounts as text; the codec reads both
            m = dict(row._mapping)
            rec = record_from_mapping(m)
            out[rec.ref] = StoredRecord(int(m["id"]), rec)
        c.exec_driver_sql("DELETE FROM ingest_keys")
        return out

    def existing_fingerprints(self, record_ids: Sequence[int]) -> set[tuple[int, str]]:
        out: set[tuple[int, str]] = set()
        e = t.record_events.c
        ids = sorted(set(record_ids))
        for i in range(0, len(ids), 500):
            q = select(e.record_id, e.fingerprint).where(e.record_id.in_(ids[i : i + 500]))
            out.update((int(a), str(b)) for a, b in self._c.execute(q))
        return out

    def next_ids(self) -> tuple[int, int]:
        r = self._c.execute(select(func.coalesce(func.max(t.records.c.id), 0))).scalar_one()
        e = self._c.execute(select(func.coalesce(func.max(t.record_events.c.id), 0))).scalar_one()
        return int(r) + 1, int(e) + 1

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

    def write(
        self,
        batch_id: int,
        created_at: dt.datetime,
        records: RecordColumns,
        events: EventColumns,
        subjects: SubjectColumns,
    ) -> None:
        c = self._c
        stamp = _stamp(created_at)
        n = len(subjects)
        _insert_absent_subjects(
            c,
            list(
                zip(
                    subjects.id,
                    subjects.kind,
                    subjects.name,
                    subjects.birth_date,
                    subjects.region_code,
                    repeat(stamp, n),
                    strict=False,
                )
            ),
            with_contact=False,
        )
        cols = (*RecordColumns.COLUMNS, "batch_id", "created_at")
        n = len(records)
        rows = list(
            zip(
                *(getattr(records, k) for k in RecordColumns.COLUMNS),
                repeat(batch_id, n),
                repeat(stamp, n),
                strict=False,
            )
        )
        _bulk_insert(c, "records", cols, rows)
        del rows
        ecols = (*EventColumns.COLUMNS, "batch_id", "created_at")
        n = len(events)
        rows = list(
            zip(
                *(getattr(events, k) for k in EventColumns.COLUMNS),
                repeat(batch_id, n),
                repeat(stamp, n),
                strict=False,
            )
        )
        _bulk_insert(c, "record_events", ecols, rows)
        if _is_pg(c):
            # Ids were assigned by us; move the sequences past them for any later default.
            for table in ("records", "record_events"):
                c.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )


class SqlUnitOfWork:
    """A unit of work on one connection. On SQLite a writing unit begins with BEGIN IMMEDIATE
    (taking the write lock up front, so a batch never fails half-way on a lock upgrade);
    ``readonly=True`` begins a deferred transaction that other readers do not wait for."""

    authorities: SqlAuthorities
    subjects: SqlSubjects
    records: SqlRecords
    ingest: SqlIngest

    def __init__(self, engine: Engine, *, readonly: bool = False) -> None:
        self._engine = engine
        self._readonly = readonly
        self._conn: Connection | None = None

    @property
    def connection(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open: use it in a with block")
        return self._conn

    def __enter__(self) -> Self:
        conn = self._engine.connect()
        if self._readonly:
            conn = conn.execution_options(socialcredit_readonly=True)
        self._conn = conn
        self.authorities = SqlAuthorities(conn)
        self.subjects = SqlSubjects(conn)
        self.records = SqlRecords(conn)
        self.ingest = SqlIngest(conn)
        conn.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self.connection
        try:
            if conn.in_transaction():
                conn.rollback()
        finally:
            conn.close()
            self._conn = None

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()
