"""An in-memory unit of work implementing the store's port, for domain-level unit tests.

State lives in a :class:`FakeDatabase` shared by the units of work made from it; a unit of
work works on a copy and only ``commit`` publishes it, so rollback behaves as in SQL.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from socialcredit.domain.records import Authority, EventType, Record, RecordEvent, RecordRef
from socialcredit.errors import Conflict
from socialcredit.store.codec import record_from_json, record_from_mapping
from socialcredit.store.ports import (
    BatchInfo,
    EventColumns,
    RecordColumns,
    StoredRecord,
    Subject,
    SubjectColumns,
)


@dataclass
class _Event:
    id: int
    record_id: int
    type: str
    event_date: dt.date
    payload: str | None
    reason: str | None
    fingerprint: str
    batch_id: int | None


@dataclass
class FakeDatabase:
    authorities: dict[str, Authority] = field(default_factory=dict)
    subjects: dict[str, Subject] = field(default_factory=dict)
    records: dict[int, Record] = field(default_factory=dict)
    record_ids: dict[RecordRef, int] = field(default_factory=dict)
    events: list[_Event] = field(default_factory=list)
    batches: dict[str, BatchInfo] = field(default_factory=dict)
    commits: int = 0


class _Authorities:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(self, authority: Authority) -> None:
        if authority.code in self._db.authorities:
            raise Conflict(f"authority {authority.code} exists")
        self._db.authorities[authority.code] = authority

    def get(self, code: str) -> Authority | None:
        return self._db.authorities.get(code)

    def list(self) -> list[Authority]:
        return [self._db.authorities[k] for k in sorted(self._db.authorities)]


class _Subjects:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add_many(self, subjects: Iterable[Subject]) -> int:
        n = 0
        for s in subjects:
            if s.id not in self._db.subjects:
                self._db.subjects[s.id] = s
                n += 1
        return n

    def get(self, subject_id: str) -> Subject | None:
        return self._db.subjects.get(subject_id)

    def names(self, subject_ids: Sequence[str]) -> tuple[list[str], list[str]]:
        got = self._db.subjects
        ids = sorted(i for i in set(subject_ids) if i is not None and i in got)
        return ids, [got[i].name or "" for i in ids]

    def count(self) -> int:
        return len(self._db.subjects)


class _Records:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def get(self, authority: str, case_number: str) -> Record | None:
        rid = self._db.record_ids.get(RecordRef(authority, case_number))
        return None if rid is None else self._db.records[rid]

    def events_for_subject(self, subject_id: str) -> list[RecordEvent]:
        # As in SQL: a record is its own listing (seq = its id); later events follow.
        mine = {
            rid: r
            for rid, r in self._db.records.items()
            if subject_id in (r.subject_id, r.legal_representative_id)
        }
        out = [
            RecordEvent(r.ref, EventType.LISTED, r.decision_date, r, None, rid)
            for rid, r in mine.items()
        ]
        for e in self._db.events:
            if e.record_id not in mine:
                continue
            kind = EventType(e.type)
            data: Record | None = None
            if kind is EventType.CORRECTED and e.payload is not None:
                data = record_from_json(e.payload)
            out.append(RecordEvent(mine[e.record_id].ref, kind, e.event_date, data, e.reason, e.id))
        return sorted(out, key=lambda ev: (ev.event_date, ev.seq))

    def subject_ids_with_records(self) -> list[str]:
        return sorted({r.subject_id for r in self._db.records.values()})

    def counts_by_category(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self._db.records.values():
            out[r.category] = out.get(r.category, 0) + 1
        return dict(sorted(out.items()))

    def count(self) -> int:
        return len(self._db.records)

    def event_count(self) -> int:
        return len(self._db.records) + len(self._db.events)


class _Ingest:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def lock(self) -> None:
        pass

    def find_batch(self, sha256: str) -> BatchInfo | None:
        return self._db.batches.get(sha256)

    def existing_records(
        self, authorities: Sequence[str], case_numbers: Sequence[str]
    ) -> dict[RecordRef, StoredRecord]:
        out = {}
        for a, c in zip(authorities, case_numbers, strict=True):
            ref = RecordRef(a, c)
            rid = self._db.record_ids.get(ref)
            if rid is not None:
                out[ref] = StoredRecord(rid, self._db.records[rid])
        return out

    def existing_fingerprints(self, record_ids: Sequence[int]) -> set[tuple[int, str]]:
        wanted = set(record_ids)
        return {(e.record_id, e.fingerprint) for e in self._db.events if e.record_id in wanted}

    def next_seq(self) -> int:
        top = max(self._db.records, default=0)
        return max([top, *(e.id for e in self._db.events)]) + 1

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
        if sha256 in self._db.batches:
            raise Conflict(f"batch {sha256} exists")
        bid = len(self._db.batches) + 1
        self._db.batches[sha256] = BatchInfo(
            bid, source_name, sha256, received_at, lines, accepted, duplicates, rejected
        )
        return bid

    def write(
        self,
        batch_id: int,
        created_at: dt.datetime,
        chunks: Iterable[tuple[RecordColumns, EventColumns]],
        *,
        rows: int,
        subjects: SubjectColumns,
    ) -> None:
        for records, events in chunks:
            self._records(records)
            self._events(batch_id, events)
        for i in range(len(subjects)):
            sid = subjects.id[i]
            if sid not in self._db.subjects:
                born = subjects.birth_date[i]
                self._db.subjects[sid] = Subject(
                    sid,
                    subjects.kind[i],
                    subjects.name[i],
                    subjects.region_code[i],
                    None if born is None else dt.date.fromisoformat(born),
                )

    def _records(self, records: RecordColumns) -> None:
        db = self._db
        for i in range(len(records)):
            row = {k: getattr(records, k)[i] for k in RecordColumns.COLUMNS}
            rec = record_from_mapping(row)
            if rec.ref in db.record_ids or records.id[i] in db.records:
                raise Conflict(f"record {rec.ref} exists")
            db.records[records.id[i]] = rec
            db.record_ids[rec.ref] = records.id[i]

    def _events(self, batch_id: int, events: EventColumns) -> None:
        db = self._db
        seen = {(e.record_id, e.fingerprint) for e in db.events}
        for i in range(len(events)):
            key = (events.record_id[i], events.fingerprint[i])
            if key in seen or events.record_id[i] not in db.records:
                raise Conflict(f"event {key} exists or names no record")
            seen.add(key)
            db.events.append(
                _Event(
                    events.id[i],
                    events.record_id[i],
                    events.type[i],
                    dt.date.fromisoformat(events.event_date[i]),
                    events.payload[i],
                    events.reason[i],
                    events.fingerprint[i],
                    batch_id,
                )
            )


class FakeUnitOfWork:
    """In-memory unit of work: changes become visible to others only on commit."""

    authorities: _Authorities
    subjects: _Subjects
    records: _Records
    ingest: _Ingest

    def __init__(self, db: FakeDatabase | None = None) -> None:
        self.db = db if db is not None else FakeDatabase()
        self._work: FakeDatabase | None = None

    def __enter__(self) -> Self:
        self._work = copy.deepcopy(self.db)
        self.authorities = _Authorities(self._work)
        self.subjects = _Subjects(self._work)
        self.records = _Records(self._work)
        self.ingest = _Ingest(self._work)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._work = None

    def commit(self) -> None:
        if self._work is None:
            raise RuntimeError("the unit of work is not open")
        work = self._work
        for name in ("authorities", "subjects", "records", "record_ids", "events", "batches"):
            setattr(self.db, name, copy.deepcopy(getattr(work, name)))
        self.db.commits += 1

    def rollback(self) -> None:
        if self._work is not None:
            self.__enter__()
