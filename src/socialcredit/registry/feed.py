"""What the screening index reads from the store: events in bulk, and what changed since.

``records`` and ``record_events`` are append-only and their ids ascend in acceptance order;
``subject_changes`` is an append-only feed other services write in the change's own
transaction. A :class:`Feed` remembers the highest id it has seen per table. Ids a sequence
handed out but whose transaction had not committed yet (possible on PostgreSQL when two
writers race) show up as holes below the high-water mark; they are re-asked for a while, so
a late commit is not missed.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ARRAY, Connection, String, any_, bindparam, func, select, text

from socialcredit.domain.records import EventType, RecordEvent
from socialcredit.store import tables as t
from socialcredit.store.sql import event_from_mapping, event_queries
from socialcredit.store.tables_screening import subject_changes

HOLE_TTL_S = 30.0  # a hole older than this was a rolled-back transaction
SUBJECTS_OVERLAP = dt.timedelta(seconds=10)  # writers stamp created_at before they commit
CHUNK = 500
BIG_CHUNK = 5000  # subject ids a query when they go in as one parameter

_FEEDS = {
    "records": (
        "SELECT id, subject_id, legal_representative_id FROM records WHERE {where} "
        "ORDER BY id LIMIT 100000"
    ),
    "record_events": (
        "SELECT e.id, r.subject_id, r.legal_representative_id FROM record_events e "
        "JOIN records r ON r.id = e.record_id WHERE {where} ORDER BY e.id LIMIT 100000"
    ),
    "subject_changes": (
        "SELECT id, subject_id, NULL FROM subject_changes WHERE {where} ORDER BY id LIMIT 100000"
    ),
}
_ID_COL = {"records": "id", "record_events": "e.id", "subject_changes": "id"}


@dataclass
class Feed:
    """High-water marks per table, plus the holes below them still worth asking about."""

    marks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_FEEDS, 0))
    holes: dict[str, dict[int, float]] = field(default_factory=lambda: {k: {} for k in _FEEDS})
    subjects_at: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        at = None if self.subjects_at is None else self.subjects_at.isoformat()
        return {"marks": self.marks, "subjects_at": at}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Feed:
        feed = cls()
        feed.marks.update({k: int(v) for k, v in d["marks"].items()})
        at = d.get("subjects_at")
        feed.subjects_at = None if at is None else dt.datetime.fromisoformat(at)
        return feed

    @classmethod
    def current(cls, conn: Connection) -> Feed:
        """Marks at the end of what ``conn`` sees now: read them before reading the data."""
        feed = cls()
        for table in _FEEDS:
            feed.marks[table] = int(
                conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
            )
        latest = conn.execute(select(func.max(t.subjects.c.created_at))).scalar()
        horizon = dt.datetime.now(dt.UTC).replace(tzinfo=None) - SUBJECTS_OVERLAP
        feed.subjects_at = None if latest is None else min(latest, horizon)
        return feed

    def changed_subjects(self, conn: Connection) -> set[str]:
        """Subject ids named by rows appended since the last call; advances the marks."""
        out: set[str] = set()
        now = time.monotonic()
        for table, sql in _FEEDS.items():
            mark, holes = self.marks[table], self.holes[table]
            for h, seen in list(holes.items()):
                if now - seen > HOLE_TTL_S:
                    del holes[h]
            col = _ID_COL[table]
            where = f"{col} > {mark}"
            if holes:
                where += f" OR {col} IN ({', '.join(map(str, sorted(holes)))})"
            rows = conn.execute(text(sql.format(where=where))).all()
            for row_id, subject, rep in rows:
                out.add(subject)
                if rep:
                    out.add(rep)
                holes.pop(row_id, None)
                if row_id > mark:
                    holes.update(dict.fromkeys(range(mark + 1, row_id), now))
                    mark = row_id
            if len(holes) > 10_000:  # a burst of rollbacks: forget the oldest
                for h in sorted(holes)[:-10_000]:
                    del holes[h]
            self.marks[table] = mark
        return out

    def new_subjects(self, conn: Connection) -> list[tuple[str, str, str]]:
        """(id, kind, name) of subjects created since the last call.

        Writers stamp ``created_at`` before they commit, so rows stamped in the last
        ``SUBJECTS_OVERLAP`` of wall-clock time are asked for again until they are older than
        that; older rows are never re-read. (Subjects that arrive with records also come by
        the record feeds, whatever their stamp.)
        """
        s = t.subjects.c
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        q = select(s.id, s.kind, s.name)
        if self.subjects_at is not None:
            q = q.where(s.created_at > self.subjects_at)
        rows = conn.execute(q).all()
        horizon = now - SUBJECTS_OVERLAP
        if self.subjects_at is None or horizon > self.subjects_at:
            self.subjects_at = horizon
        return [(r.id, r.kind, r.name) for r in rows]


def events_by_subject(
    conn: Connection, subject_ids: Iterable[str] | None = None
) -> dict[str, list[RecordEvent]]:
    """Each subject's events as the store's ``events_for_subject`` gives them (their own
    records' and those of enterprise records naming them legal representative), read
    set-wise: one pass over everything, or chunks of ``subject_ids``. The integration tests
    hold the two readers equal."""
    rows: dict[tuple[str, int], Any] = {}  # by (type class, seq): a row may match twice
    wanted = None if subject_ids is None else set(subject_ids)
    for queries, params in _chunks(conn, wanted):
        for q in queries:
            for row in conn.execute(q, params):
                m = row._mapping
                rows[(m["type"] == EventType.LISTED.value and "l" or "e", int(m["seq"]))] = m
    out: dict[str, list[RecordEvent]] = {}
    for m in rows.values():
        ev = event_from_mapping(m)
        for who in (m["subject_id"], m["legal_representative_id"]):
            if who and (wanted is None or who in wanted):
                lst = out.setdefault(who, [])
                if not lst or lst[-1] is not ev:
                    lst.append(ev)
    for lst in out.values():
        if len(lst) > 1:  # most subjects of a large delta have one event
            lst.sort(key=_event_order)
    return out


def _event_order(e: RecordEvent) -> tuple[dt.date, int]:
    return e.event_date, e.seq


def _chunks(conn: Connection, wanted: set[str] | None) -> Iterator[tuple[Any, dict[str, Any]]]:
    """``event_queries`` for ``wanted`` (all if None), a chunk at a time, with parameters.

    The subject ids go in as ONE parameter a chunk where the database can take a list as one
    value (a JSON array on SQLite, an array on PostgreSQL), both membership tests still
    searched by index: rendering a placeholder per id, four times a chunk, cost more than
    the queries themselves. Elsewhere, an IN list per chunk."""
    if wanted is None:
        yield event_queries(), {}
        return
    ordered = sorted(wanted)
    r = t.records.c
    dialect = conn.dialect.name
    if dialect == "postgresql":
        ids: Any = any_(bindparam("ids", type_=ARRAY(String)))
        queries = event_queries((r.subject_id == ids) | (r.legal_representative_id == ids))
    elif dialect == "sqlite" and sqlite3.sqlite_version_info >= (3, 38):  # JSON built in
        each = func.json_each(bindparam("ids", type_=String)).table_valued("value")
        listed = select(each.c.value).scalar_subquery()
        queries = event_queries(r.subject_id.in_(listed) | r.legal_representative_id.in_(listed))
    else:
        for i in range(0, len(ordered), CHUNK):
            part = ordered[i : i + CHUNK]
            yield event_queries(r.subject_id.in_(part) | r.legal_representative_id.in_(part)), {}
        return
    for i in range(0, len(ordered), BIG_CHUNK):
        part = ordered[i : i + BIG_CHUNK]
        yield queries, {"ids": part if dialect == "postgresql" else json.dumps(part)}


def all_subject_names(conn: Connection) -> Iterable[tuple[str, str, str]]:
    """(id, kind, name) of every subject, streamed."""
    s = t.subjects.c
    result = conn.execute(select(s.id, s.kind, s.name).execution_options(yield_per=50_000))
    for row in result:
        yield row.id, row.kind, row.name


def subject_names(conn: Connection, ids: Iterable[str]) -> list[tuple[str, str, str]]:
    s = t.subjects.c
    wanted = sorted(set(ids))
    out: list[tuple[str, str, str]] = []
    for i in range(0, len(wanted), CHUNK):
        q = select(s.id, s.kind, s.name).where(s.id.in_(wanted[i : i + CHUNK]))
        out.extend((r.id, r.kind, r.name) for r in conn.execute(q))
    return out


def note_change(conn: Connection, subject_id: str, cause: str) -> None:
    """Append to the change feed (for services that change a subject outside ingest)."""
    conn.execute(
        subject_changes.insert().values(
            subject_id=subject_id, at=dt.datetime.now(dt.UTC).replace(tzinfo=None), cause=cause
        )
    )
