"""Authorities, records and the events on them.

A record is an authority's legal decision about one subject. It is never deleted or edited
in place: every later change (the obligation fulfilled, the record withdrawn, corrected, or
repaired) is a new :class:`RecordEvent`, so a subject's file can be replayed to any date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class EventType(StrEnum):
    LISTED = "listed"
    FULFILLED = "fulfilled"  # obligation performed, settlement carried out, fare or fine paid
    WITHDRAWN = "withdrawn"  # the authority withdraws the record (reason says why)
    CORRECTED = "corrected"  # the record's data replaced by corrected data
    REPAIRED = "repaired"  # credit repair granted: publication, sharing, restrictions stop
    # Registry events of due process (written by the case service, not by authorities):
    SUSPENDED = "suspended"  # an objection filed within the publicity period holds the start
    RESUMED = "resumed"  # that objection was rejected: the start runs from the next day


# Why an authority withdraws a record (SPC rules Art. 10 removal conditions and the like).
WITHDRAWAL_REASONS = frozenset(
    {
        "creditor_withdrew",
        "no_assets_found",
        "enforcement_suspended",
        "enforcement_terminated",
        "judgment_not_enforced",
        "listed_in_error",
        "objection_upheld",
        "other",
    }
)


@dataclass(frozen=True)
class Authority:
    """A data provider, allowed to submit only the categories it is responsible for."""

    code: str
    name: str
    kind: str  # court, tax, aviation, rail, social_insurance, securities, market, ...
    categories: frozenset[str]

    def may_submit(self, category: str) -> bool:
        return category in self.categories


@dataclass(frozen=True)
class Record:
    """The content of one legal decision about one subject."""

    authority: str
    case_number: str
    category: str
    subject_id: str
    subject_name: str
    decision_date: dt.date
    legal_basis: str
    amount_owed: Decimal | None = None
    extension_years: int = 0
    evidence_ref: str | None = None
    # For an enterprise: its legal representative, published with the listing and bound by
    # the consumption measures ("once discredited, limited everywhere").
    legal_representative_id: str | None = None
    legal_representative_name: str | None = None

    @property
    def ref(self) -> RecordRef:
        return RecordRef(self.authority, self.case_number)


@dataclass(frozen=True, order=True)
class RecordRef:
    authority: str
    case_number: str

    def __str__(self) -> str:
        return f"{self.authority}/{self.case_number}"


@dataclass(frozen=True)
class RecordEvent:
    """One accepted change to a record. ``record`` is set for LISTED and CORRECTED."""

    ref: RecordRef
    type: EventType
    event_date: dt.date
    record: Record | None = None
    reason: str | None = None
    seq: int = 0  # acceptance order; ties on event_date are broken by it


@dataclass(frozen=True)
class RecordState:
    """A record replayed up to a date: its current data and what has happened to it."""

    record: Record
    listed_on: dt.date
    fulfilled_on: dt.date | None = None
    withdrawn_on: dt.date | None = None
    withdrawal_reason: str | None = None
    repaired_on: dt.date | None = None
    corrected_on: tuple[dt.date, ...] = ()
    suspended_on: dt.date | None = None
    resumed_on: dt.date | None = None
    events: tuple[RecordEvent, ...] = field(default=(), repr=False)

    @property
    def ref(self) -> RecordRef:
        return self.record.ref


def replay(events: Iterable[RecordEvent], on: dt.date | None = None) -> list[RecordState]:
    """Fold events into one state per record, ignoring events dated after ``on``.

    Events for a record that was never listed (as of ``on``) are ignored; the ingest
    service refuses them, so this only matters when replaying to a date before the listing.
    """
    ordered = sorted(events, key=lambda e: (e.event_date, e.seq))
    states: dict[RecordRef, RecordState] = {}
    for ev in ordered:
        if on is not None and ev.event_date > on:
            continue
        st = states.get(ev.ref)
        if ev.type is EventType.LISTED:
            if st is None and ev.record is not None:
                states[ev.ref] = RecordState(ev.record, ev.event_date, events=(ev,))
            continue
        if st is None:
            continue
        evs = (*st.events, ev)
        if ev.type is EventType.FULFILLED and st.fulfilled_on is None:
            states[ev.ref] = _replace(st, fulfilled_on=ev.event_date, events=evs)
        elif ev.type is EventType.WITHDRAWN and st.withdrawn_on is None:
            states[ev.ref] = _replace(
                st, withdrawn_on=ev.event_date, withdrawal_reason=ev.reason, events=evs
            )
        elif ev.type is EventType.REPAIRED and st.repaired_on is None:
            states[ev.ref] = _replace(st, repaired_on=ev.event_date, events=evs)
        elif ev.type is EventType.SUSPENDED:
            states[ev.ref] = _replace(st, suspended_on=ev.event_date, resumed_on=None, events=evs)
        elif ev.type is EventType.RESUMED and st.suspended_on is not None:
            states[ev.ref] = _replace(st, resumed_on=ev.event_date, events=evs)
        elif ev.type is EventType.CORRECTED and ev.record is not None:
            states[ev.ref] = _replace(
                st, record=ev.record, corrected_on=(*st.corrected_on, ev.event_date), events=evs
            )
        else:
            states[ev.ref] = _replace(st, events=evs)
    return sorted(states.values(), key=lambda s: (s.record.decision_date, s.ref))


def _replace(st: RecordState, **changes: object) -> RecordState:
    from dataclasses import replace

    return replace(st, **changes)  # type: ignore[arg-type]


def events_for(records: Sequence[Record], on: dt.date | None = None) -> list[RecordEvent]:
    """LISTED events for plain records (a convenience for tests and the generator)."""
    return [
        RecordEvent(r.ref, EventType.LISTED, r.decision_date, record=r, seq=i)
        for i, r in enumerate(records)
        if on is None or r.decision_date <= on
    ]
