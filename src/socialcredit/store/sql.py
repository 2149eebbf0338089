"""SQLAlchemy repositories and the unit of work over one connection and transaction."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, Self

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    String,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
)

from socialcredit.domain.records import Authority, EventType, Record, RecordEvent, RecordRef
from socialcredit.store import tables as t
from socialcredit.store.codec import record_from_json, record_from_mapping
from socialcredit.store.ports import Subject
from socialcredit.store.sql_bulk import copy_rows, is_pg, stamp
from socialcredit.store.sql_ingest import SqlIngest

CHUNK = 100_000
NAMES_CHUNK = 250_000  # subject ids a name look-up sends at once (one parameter)


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
        now = stamp(dt.datetime.now(dt.UTC).replace(tzinfo=None))
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
        _insert_absent_subjects(self._c, rows)
        return self.count() - before

    def names(self, subject_ids: Sequence[str]) -> tuple[list[str], list[str]]:
        # in index order: the look-ups walk the key index forwards (an unreadable id is no key)
        ids = sorted(i for i in subject_ids if i is not None)
        c = self._c
        found: list[str] = []
        names: list[str] = []
        for lo in range(0, len(ids), NAMES_CHUNK):
            part = ids[lo : lo + NAMES_CHUNK]
            rows: Sequence[Any]
            # The ids go in as ONE parameter (an array on PostgreSQL, a JSON array on
            # SQLite), each searched by the key index: an IN list of a placeholder per id,
            # compiled a few thousand at a time, cost more than the look-ups themselves.
            if is_pg(c):
                rows = c.exec_driver_sql(
                    "SELECT id, name FROM subjects WHERE id = ANY(%(ids)s) ORDER BY id",
                    {"ids": part},
                ).all()
            elif sqlite3.sqlite_version_info >= (3, 38):  # JSON built in
                rows = c.exec_driver_sql(
                    "SELECT s.id, s.name FROM json_each(?) AS j "
                    "CROSS JOIN subjects AS s ON s.id = j.value",
                    (json.dumps(part),),
                ).all()
            else:  # pragma: no cover - older SQLite: an IN list, under its parameter bound
                q, rows = t.subjects.c, []
                for i in range(0, len(part), 5000):
                    sel = select(q.id, q.name).where(q.id.in_(part[i : i + 5000]))
                    rows.extend(self._c.execute(sel.order_by(q.id)).all())
            found.extend(str(r[0]) for r in rows)
            names.extend(str(r[1] or "") for r in rows)
        return found, names

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


def event_queries(where: Any = None) -> tuple[Any, Any]:
    """The store's definition of events, set-wise: a record row is its own listing (seq = its
    id), later events join to it (seq = the event id). ``where`` filters records."""
    r, e = t.records.c, t.record_events.c
    listings = select(
        t.records,
        r.id.label("seq"),
        literal(EventType.LISTED.value, String()).label("type"),
        r.decision_date.label("event_date"),
        null().label("payload"),
        null().label("reason"),
    )
    later = select(
        t.records,
        e.id.label("seq"),
        e.type.label("type"),
        e.event_date.label("event_date"),
        e.payload.label("payload"),
        e.reason.label("reason"),
    ).join(t.record_events, e.record_id == r.id)
    if where is not None:
        listings, later = listings.where(where), later.where(where)
    return listings, later


def event_from_mapping(m: Any) -> RecordEvent:
    """A row of :func:`event_queries` as a domain event."""
    kind = EventType(m["type"])
    record: Record | None = None
    if kind is EventType.LISTED:
        record = record_from_mapping(m)
    elif kind is EventType.CORRECTED and m["payload"] is not None:
        record = record_from_json(m["payload"])
    return RecordEvent(
        ref=RecordRef(m["authority"], m["case_number"]),
        type=kind,
        event_date=m["event_date"],
        record=record,
        reason=m["reason"],
        seq=int(m["seq"]),
    )


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
        r = t.records.c
        mine = (r.subject_id == subject_id) | (r.legal_representative_id == subject_id)
        both = union_all(*event_queries(mine)).subquery()
        q = select(both).order_by(both.c.event_date, both.c.seq)
        return [event_from_mapping(row._mapping) for row in self._c.execute(q)]

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
        """Listings (one per record) plus later events."""
        q = select(func.count()).select_from(t.record_events)
        return self.count() + int(self._c.execute(q).scalar_one())


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


def _insert_absent_subjects(conn: Connection, rows: list[Any]) -> None:
    """Insert subject rows whose id is not stored yet (existing rows are left untouched)."""
    if not rows:
        return
    cols = SUBJECT_COLS
    if is_pg(conn):
        # COPY cannot skip duplicates: stage, then insert what is absent, set-wise.
        conn.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS ingest_subjects "
            "(LIKE subjects INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        conn.exec_driver_sql("DELETE FROM ingest_subjects")
        copy_rows(conn, "ingest_subjects", cols, rows)
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
