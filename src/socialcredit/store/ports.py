"""The store's port: what services may ask of persistence, and nothing more.

Two implementations: :mod:`socialcredit.store.sql` (SQLAlchemy, SQLite or PostgreSQL) and
:mod:`socialcredit.store.fake` (in memory, for domain-level unit tests). Both return domain
objects from :mod:`socialcredit.domain.records`.

Bulk ingestion goes through :class:`IngestRepository`, whose methods take whole columns
(plain lists, one per field) so the SQL side can stage them set-wise instead of row by row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from socialcredit.domain.records import Authority, Record, RecordEvent, RecordRef


@dataclass(frozen=True)
class Subject:
    id: str
    kind: str  # person | enterprise
    name: str
    region_code: str
    birth_date: dt.date | None = None
    contact_email: str | None = None
    legal_representative_id: str | None = None


@dataclass(frozen=True)
class BatchInfo:
    id: int
    source_name: str
    sha256: str
    received_at: dt.datetime
    lines: int
    accepted: int
    duplicates: int
    rejected: int


@dataclass(frozen=True)
class StoredRecord:
    """A listed record as stored, with its row id (events refer to it)."""

    id: int
    record: Record


@dataclass
class RecordColumns:
    """New records, one list per column, all the same length; ids assigned by the caller.

    Dates are ISO strings and amounts canonical decimal strings: the form both backends
    store and parse, so the bulk path converts nothing row by row.
    """

    id: list[int] = field(default_factory=list)
    authority: list[str] = field(default_factory=list)
    case_number: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    subject_id: list[str] = field(default_factory=list)
    subject_kind: list[str] = field(default_factory=list)  # person | enterprise
    subject_name: list[str] = field(default_factory=list)
    decision_date: list[str] = field(default_factory=list)
    legal_basis: list[str] = field(default_factory=list)
    amount_owed: list[str | None] = field(default_factory=list)
    extension_years: list[int] = field(default_factory=list)
    evidence_ref: list[str | None] = field(default_factory=list)
    legal_representative_id: list[str | None] = field(default_factory=list)
    legal_representative_name: list[str | None] = field(default_factory=list)

    COLUMNS = (
        "id",
        "authority",
        "case_number",
        "category",
        "subject_id",
        "subject_kind",
        "subject_name",
        "decision_date",
        "legal_basis",
        "amount_owed",
        "extension_years",
        "evidence_ref",
        "legal_representative_id",
        "legal_representative_name",
    )

    def __len__(self) -> int:
        return len(self.id)


@dataclass
class EventColumns:
    """New events other than listings, in acceptance order.

    A record's listing is the record row itself: its id is the listing's sequence number,
    drawn from the same sequence as event ids, so ids ascending are acceptance order.
    """

    id: list[int] = field(default_factory=list)
    record_id: list[int] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    event_date: list[str] = field(default_factory=list)
    payload: list[str | None] = field(default_factory=list)  # JSON text of a corrected Record
    reason: list[str | None] = field(default_factory=list)
    fingerprint: list[str] = field(default_factory=list)

    COLUMNS = ("id", "record_id", "type", "event_date", "payload", "reason", "fingerprint")

    def __len__(self) -> int:
        return len(self.id)


@dataclass
class SubjectColumns:
    """Subjects to insert if absent (an existing subject row is left as it is), one row per
    identifier, in the order to insert them."""

    id: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    birth_date: list[str | None] = field(default_factory=list)
    region_code: list[str] = field(default_factory=list)

    COLUMNS = ("id", "kind", "name", "birth_date", "region_code")

    def __len__(self) -> int:
        return len(self.id)


class AuthorityRepository(Protocol):
    def add(self, authority: Authority) -> None:
        """Register an authority (replaces nothing: a second add of the same code fails)."""

    def get(self, code: str) -> Authority | None: ...

    def list(self) -> list[Authority]: ...


class SubjectRepository(Protocol):
    def add_many(self, subjects: Iterable[Subject]) -> int:
        """Insert the subjects not yet present; return how many were new."""

    def get(self, subject_id: str) -> Subject | None: ...

    def names(self, subject_ids: Sequence[str]) -> tuple[list[str], list[str]]:
        """(ids, names): the registry's name of each stored subject among ``subject_ids``,
        in identifier order (set-wise: ingest compares a whole batch's names at once)."""
        ...

    def count(self) -> int: ...


class RecordRepository(Protocol):
    def get(self, authority: str, case_number: str) -> Record | None:
        """The record as listed (corrections are events; replay them for current data)."""

    def events_for_subject(self, subject_id: str) -> list[RecordEvent]:
        """Events of the subject's own records and of enterprise records naming the subject as
        legal representative, ordered by event date then acceptance order (``seq``)."""

    def subject_ids_with_records(self) -> list[str]: ...

    def counts_by_category(self) -> dict[str, int]: ...

    def count(self) -> int: ...

    def event_count(self) -> int: ...


class IngestRepository(Protocol):
    """Bulk operations for the ingest service, inside the unit of work's transaction."""

    def lock(self) -> None:
        """Serialise batches: after this, no other batch writes until we commit."""

    def find_batch(self, sha256: str) -> BatchInfo | None: ...

    def existing_records(
        self, authorities: Sequence[str], case_numbers: Sequence[str]
    ) -> dict[RecordRef, StoredRecord]:
        """The stored records among the (authority, case number) pairs given as two parallel
        columns; pairs with no stored record are simply absent from the answer."""

    def existing_fingerprints(self, record_ids: Sequence[int]) -> set[tuple[int, str]]:
        """(record_id, fingerprint) of the stored events of those records."""

    def next_seq(self) -> int:
        """The next free sequence number, shared by record ids (listings) and event ids
        (valid while :meth:`lock` is held)."""

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
    ) -> int: ...

    def write(
        self,
        batch_id: int,
        created_at: dt.datetime,
        chunks: Iterable[tuple[RecordColumns, EventColumns]],
        *,
        rows: int,
        subjects: SubjectColumns,
    ) -> None:
        """Append a batch's new records and events, chunk by chunk (``rows``: how many records
        in all, a hint for bulk loading), and the ``subjects`` not stored yet."""


class UnitOfWork(Protocol):
    """One transaction. ``with uow: ...; uow.commit()``; leaving without commit rolls back.

    The repositories are read-only members: an adapter may hold them as plain attributes
    (typed as its own, more specific classes) and still satisfy the protocol.
    """

    @property
    def authorities(self) -> AuthorityRepository: ...

    @property
    def subjects(self) -> SubjectRepository: ...

    @property
    def records(self) -> RecordRepository: ...

    @property
    def ingest(self) -> IngestRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
