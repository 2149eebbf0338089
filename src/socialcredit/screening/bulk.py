"""Assessing many subjects at once: the engine runs once per *shape* of history, not per subject.

A subject's index entries (its deny profile and its benefit profile) depend only on what the
restriction engine reads from its history, and a 100,000-line batch holds a handful of
distinct histories under 100,000 IDs, names and case numbers. :func:`shape_of` is a canonical
key made of *everything* :func:`~socialcredit.domain.restrictions.assess` (with ``replay``,
``_listing``, ``_repeat_offence``), ``profile_of`` and ``benefit_profile`` can read:

- the subject's kind (which categories apply to it);
- every event dated on or before the day, in the order ``replay`` folds them (sorted by event
  date then acceptance order, the same stable sort), each with its type, its date and, when it
  carries record data (a listing, a correction), that data: category, decision date,
  extension years, whether the subject was a minor on the decision date, and who the record
  is about and whom it binds;
- record references replaced by their rank among the references in this history (``replay``
  groups events by reference and sorts records by (decision date, reference), and the rail
  repeat-offence rule orders them the same way: ranks preserve every equality and order);
- subject IDs in record data replaced by 0 for the subject itself and 1, 2, ... for the other
  IDs in order of first appearance (the engine only compares them: own record, legal
  representative bound, the same subject's rail records).

What the engine never reads into an entry (names, legal basis, amounts, evidence, withdrawal
reasons, the ID's digits beyond its birth date) is left out, so subjects that differ only
there share a key. Two histories with the same key are the same history up to a renaming that
preserves every comparison the engine makes, hence get the same profiles; the property tests
in ``tests/unit/test_screening_bulk.py`` hold the memoised entries equal to the direct ones.

Whoever makes the engine read a new input must add it to the key (and vary it in the test's
generator, or the test cannot see it missing).

A :class:`BulkAssessor` is good for one rule pack, one calendar and one day: make a new one
for each delta (``Screener.apply``) or build (:func:`compile_entries`). Also here, for the
same deltas: :func:`parse_many` (stored IDs checked as arrays) and :func:`collector_paused`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import threading
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from socialcredit.domain.calendar import WorkCalendar
from socialcredit.domain.identity import RIC_CHECK, RIC_WEIGHTS, SubjectId, SubjectKind
from socialcredit.domain.records import Record, RecordEvent
from socialcredit.domain.restrictions import assess
from socialcredit.domain.rules import RulePack
from socialcredit.errors import InvalidInput
from socialcredit.runtime.registry import Registry
from socialcredit.screening.benefits import benefit_profile, benefit_schema
from socialcredit.screening.compile import profile_of
from socialcredit.screening.index import SubjectEntry
from socialcredit.screening.profiles import Profile, Schema
from socialcredit.screening.stored_ids import parse_stored

log = logging.getLogger(__name__)

Shape = tuple[Hashable, ...]
_paused = 0
_paused_lock = threading.Lock()
MEMO_MAX = 1 << 16  # distinct shapes kept; past that, new shapes are assessed directly
PARSE_BULK_MIN = 256  # IDs parsed one by one below this many, as arrays above
_WEIGHTS = np.array(RIC_WEIGHTS, dtype=np.int64)
_CHECKS = np.frombuffer(RIC_CHECK.encode("ascii"), dtype=np.uint8)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _order(e: RecordEvent) -> tuple[dt.date, int]:
    return e.event_date, e.seq


def shape_of(subject: SubjectId, events: Sequence[RecordEvent], on: dt.date) -> Shape:
    """The canonical key of ``subject``'s history as the engine sees it on ``on``."""
    if len(events) == 1:
        return _shape_of_one(subject, events[0], on)
    return _shape_of_many(subject, events, on)


def _shape_of_many(subject: SubjectId, events: Sequence[RecordEvent], on: dt.date) -> Shape:
    # replay's order (the same stable sort of the same list), less what it ignores
    evs = [e for e in sorted(events, key=_order) if e.event_date <= on]
    # References as (authority, case number): RecordRef's own equality and order.
    rows = [(e, (e.ref.authority, e.ref.case_number), _ref_of(e.record)) for e in evs]
    refs = {r for _, r, _ in rows} | {r for _, _, r in rows if r is not None}
    rank = {r: i for i, r in enumerate(sorted(refs))} if len(refs) > 1 else dict.fromkeys(refs, 0)
    who: dict[str | None, int] = {subject.value: 0}
    out: list[Hashable] = [subject.kind.value]
    for e, ref, rref in rows:
        rec = e.record
        if rec is None or rref is None:
            out.append((rank[ref], e.type, e.event_date))
            continue
        d = rec.decision_date
        out.append(
            (
                rank[ref],
                e.type,
                e.event_date,
                rank[rref],
                rec.category,
                who.setdefault(rec.subject_id, len(who)),
                who.setdefault(rec.legal_representative_id, len(who)),
                d,
                rec.extension_years,
                subject.is_minor_on(d),
            )
        )
    return tuple(out)


def _shape_of_one(subject: SubjectId, e: RecordEvent, on: dt.date) -> Shape:
    """:func:`shape_of` for a history of one event (most of a large batch), the same key."""
    if e.event_date > on:
        return (subject.kind.value,)
    rec = e.record
    if rec is None:
        return (subject.kind.value, (0, e.type, e.event_date))
    ref, rref = (e.ref.authority, e.ref.case_number), (rec.authority, rec.case_number)
    sid, rid, lr = subject.value, rec.subject_id, rec.legal_representative_id
    subj = 0 if rid == sid else 1
    rep = 0 if lr == sid else subj + 1 if lr != rid else subj
    d = rec.decision_date
    return (
        subject.kind.value,
        (
            0 if ref <= rref else 1,
            e.type,
            e.event_date,
            0 if rref <= ref else 1,
            rec.category,
            subj,
            rep,
            d,
            rec.extension_years,
            subject.is_minor_on(d),
        ),
    )


def _ref_of(rec: Record | None) -> tuple[str, str] | None:
    return None if rec is None else (rec.authority, rec.case_number)


@dataclass
class BulkAssessor:
    """Index entries for many subjects on one day, the engine run once per distinct shape."""

    pack: RulePack
    calendar: WorkCalendar
    on: dt.date
    schema: Schema
    bschema: Schema
    memo: dict[Shape, tuple[Profile, Profile]] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    def profiles(
        self, subject: SubjectId, events: Sequence[RecordEvent]
    ) -> tuple[Profile, Profile]:
        """(deny profile, benefit profile) of ``subject``; either may be empty."""
        key = shape_of(subject, events, self.on)
        got = self.memo.get(key)
        if got is not None:
            self.hits += 1
            return got
        self.misses += 1
        a = assess(subject, events, self.pack, self.on, self.calendar)
        got = (profile_of(a, self.schema), benefit_profile(a, self.bschema))
        if len(self.memo) < MEMO_MAX:
            self.memo[key] = got
        return got

    def entries(
        self, subject: SubjectId, events: Sequence[RecordEvent]
    ) -> tuple[SubjectEntry | None, SubjectEntry | None]:
        """What ``entry_for`` and ``benefit_entry`` give for ``subject``'s assessment."""
        deny, ben = self.profiles(subject, events)
        if not deny and not ben:
            return None, None
        key = subject.key
        code = subject.value if subject.kind is SubjectKind.ENTERPRISE else None
        return (
            SubjectEntry(key, code, deny) if deny else None,
            SubjectEntry(key, code, ben) if ben else None,
        )

    @property
    def hit_share(self) -> float:
        done = self.hits + self.misses
        return self.hits / done if done else 0.0


def compile_entries(
    reg: Registry, events: Mapping[str, list[RecordEvent]], day: dt.date
) -> tuple[list[SubjectEntry], list[SubjectEntry]]:
    """Every subject's entries on ``day``: the deny and the benefit index's (a build)."""
    schema, bschema = Schema.from_pack(reg.pack), benefit_schema(reg.pack)
    bulk = BulkAssessor(reg.pack, reg.calendar, day, schema, bschema)
    deny: list[SubjectEntry] = []
    ben: list[SubjectEntry] = []
    for (raw, evs), sid in zip(events.items(), parse_many(list(events)), strict=True):
        if sid is None:
            log.warning("store holds records for %r, not a valid subject id; skipped", raw)
            continue
        d, b = bulk.entries(sid, evs)
        if d is not None:
            deny.append(d)
        if b is not None:
            ben.append(b)
    return deny, ben


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a bulk read and assessment runs.

    A 100,000-subject delta allocates a few million small objects (rows, events, keys,
    entries), almost none of them in cycles, and each allocation burst sets off collections
    that walk them all again: a third of the delta's time. Reference counting still frees
    them; cycles made meanwhile are collected once the outermost pause ends. Nested and
    concurrent pauses (the watcher thread, a build) count, so the last one re-enables.
    """
    global _paused
    with _paused_lock:
        ours = _paused > 0 or gc.isenabled()  # else disabled by the embedding process: leave it
        if ours:
            _paused += 1
            gc.disable()
    try:
        yield
    finally:
        if ours:
            with _paused_lock:
                _paused -= 1
                if _paused == 0:
                    gc.enable()


def parse_many(raws: Sequence[str]) -> list[SubjectId | None]:
    """``parse_stored`` for many stored IDs, None where it raises ``InvalidInput``.

    The resident IDs it takes as they are (18 ASCII digits, or 17 and the right check
    character, a real birth date from 1880 on) are recognised as arrays: the check character
    and the calendar test for a whole delta at once. Anything else goes through
    ``parse_stored`` one by one, as before.
    """
    out: list[SubjectId | None] = [None] * len(raws)
    fast = _resident_ids(raws) if len(raws) >= PARSE_BULK_MIN else set()
    for i, raw in enumerate(raws):
        if i in fast:
            out[i] = SubjectId(raw, SubjectKind.PERSON)
            continue
        try:
            out[i] = parse_stored(raw)
        except InvalidInput:
            pass
    return out


def _resident_ids(raws: Sequence[str]) -> set[int]:
    """Positions of the IDs ``parse_stored`` takes as resident IDs without the full parse."""
    at = [i for i, v in enumerate(raws) if len(v) == 18 and v.isascii()]
    if not at:
        return set()
    b = np.frombuffer("".join(raws[i] for i in at).encode("ascii"), dtype=np.uint8)
    b = b.reshape(len(at), 18)
    d = b[:, :17].astype(np.int64) - ord("0")
    ok: npt.NDArray[np.bool_] = np.all((d >= 0) & (d <= 9), axis=1)
    d = np.where(ok[:, None], d, 0)
    ok &= b[:, 17] == _CHECKS[(d @ _WEIGHTS) % 11]
    year = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
    month, day = d[:, 10] * 10 + d[:, 11], d[:, 12] * 10 + d[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = _MONTH_DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    ok &= (year >= 1880) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= last)
    return {at[j] for j in np.flatnonzero(ok).tolist()}
