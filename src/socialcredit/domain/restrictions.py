"""The restriction engine: a subject's record events + a rule pack + a date -> what applies.

A pure function (:func:`assess`). For each record it decides the list membership (when it
starts, when it ends or what ends it), then fans that membership out through the memoranda
into per-sector measures: deny restrictions for blacklists, benefits for redlists. Every
outcome names its rule, its records, its dates and the rule-pack version, so a deny can always
be explained and objected to.

Dates are whole days in the registry's time zone: ``start`` is the first day enforced and
``end`` the last (inclusive). A restriction ended by an event dated D (payment, withdrawal,
repair) is not enforced on D itself: pay in the morning, fly in the afternoon.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from socialcredit.domain.calendar import WorkCalendar
from socialcredit.domain.identity import SubjectId
from socialcredit.domain.records import RecordEvent, RecordRef, RecordState, replay
from socialcredit.domain.rules import Category, Effect, RulePack, Start, TermKind

ONE_DAY = dt.timedelta(days=1)

UNTIL_REMOVED = "until the obligation is performed or another removal condition is met"
UNTIL_PAID = "until the amount due is paid"
SUSPENDED_TEXT = (
    "not in force: an objection filed within the publicity period is pending, and the "
    "restriction cannot start before it is decided"
)


class Status(StrEnum):
    PENDING = "pending"  # decided, but in its publicity period: not enforced yet
    ACTIVE = "active"
    ENDED = "ended"


@dataclass(frozen=True)
class Listing:
    """One record's membership of a list, with its timeline."""

    ref: RecordRef
    subject_id: str
    category: str
    list_id: str
    reason_code: str
    legal_basis: str
    decision_date: dt.date
    published_on: dt.date | None
    publicity_ends: dt.date | None
    start: dt.date
    end: dt.date | None
    until_condition: str | None
    ended_by: str | None  # fulfilled / withdrawn / repaired / expired
    status: Status
    weekday_only_years: frozenset[int]
    suspended: bool = False  # an objection filed in the publicity period holds the start


@dataclass(frozen=True)
class Restriction:
    """A measure in one sector that follows from a listing: a deny or a benefit."""

    sector: str
    effect: Effect
    status: Status
    start: dt.date
    end: dt.date | None
    until_condition: str | None
    rule_id: str
    reason_code: str
    list_id: str
    memorandum_id: str
    measure_id: str
    records: tuple[RecordRef, ...]
    rulepack_version: str
    via: str | None  # the enterprise whose listing binds this legal representative
    weekday_only_years: frozenset[int]
    description: str
    suspended: bool = False

    def explain(self) -> str:
        """A one-line explanation, fit for the subject (the relying party gets only a code)."""
        refs = ", ".join(str(r) for r in self.records)
        if self.suspended:
            return (
                f"{self.description} ({self.reason_code}, rule {self.rule_id}, record {refs}): "
                f"{SUSPENDED_TEXT}"
            )
        until = f"until {self.end.isoformat()}" if self.end else (self.until_condition or "")
        via = f" as legal representative of {self.via}" if self.via else ""
        note = (
            f" (dates count weekdays only for {sorted(self.weekday_only_years)}: no official "
            "calendar loaded)"
            if self.weekday_only_years
            else ""
        )
        return (
            f"{self.description} ({self.reason_code}, rule {self.rule_id}, record {refs}{via}) "
            f"from {self.start.isoformat()} {until}{note}"
        )


@dataclass(frozen=True)
class Decision:
    sector: str
    decision: str  # "allow" | "deny"
    until: dt.date | None
    until_condition: str | None
    reasons: tuple[Restriction, ...]
    benefits: tuple[Restriction, ...]
    rulepack_version: str


@dataclass(frozen=True)
class Assessment:
    subject_id: str
    on: dt.date
    rulepack_version: str
    listings: tuple[Listing, ...]
    restrictions: tuple[Restriction, ...]  # active and pending (and ended, for the file view)
    notes: tuple[str, ...]

    @property
    def active(self) -> tuple[Restriction, ...]:
        return tuple(r for r in self.restrictions if r.status is Status.ACTIVE)

    @property
    def pending(self) -> tuple[Restriction, ...]:
        return tuple(r for r in self.restrictions if r.status is Status.PENDING)

    def decide(self, sector: str) -> Decision:
        denies = tuple(r for r in self.active if r.sector == sector and r.effect is Effect.DENY)
        benefits = tuple(
            r for r in self.active if r.sector == sector and r.effect is Effect.BENEFIT
        )
        if not denies:
            return Decision(sector, "allow", None, None, (), benefits, self.rulepack_version)
        open_ended = [r for r in denies if r.end is None]
        if open_ended:
            conds = sorted({r.until_condition or UNTIL_REMOVED for r in open_ended})
            return Decision(
                sector, "deny", None, "; ".join(conds), denies, (), self.rulepack_version
            )
        until = max(r.end for r in denies if r.end is not None)
        return Decision(sector, "deny", until, None, denies, (), self.rulepack_version)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February -> 28 February
        return day.replace(year=day.year + years, day=28)


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _repeat_offence(
    st: RecordState, cat: Category, states: list[RecordState], pack: RulePack
) -> bool:
    """Rail types 4-6: is this the n-th such record within the window after the first's payment?"""
    rep = cat.term.repeat
    if rep is None:
        return False
    same = [
        s
        for s in states
        if s.record.subject_id == st.record.subject_id
        and (c := pack.categories.get(s.record.category)) is not None
        and c.term.repeat is not None
    ]
    same.sort(key=lambda s: (s.record.decision_date, s.ref))
    i = same.index(st)
    if i < rep.count - 1:
        return False
    first = same[i - (rep.count - 1)]
    if first.fulfilled_on is None:
        return False
    return st.record.decision_date <= first.fulfilled_on + dt.timedelta(days=rep.window_days)


def _listing(
    st: RecordState,
    cat: Category,
    states: list[RecordState],
    pack: RulePack,
    cal: WorkCalendar,
    on: dt.date,
) -> Listing:
    rec = st.record
    guessed: frozenset[int] = frozenset()
    published = publicity_end = None
    if cat.start is Start.AFTER_PUBLICITY and cat.publicity is not None:
        pub = (
            cal.next_monthly_publication(rec.decision_date)
            if cat.publicity.monthly_publication
            else cal.first_workday_on_or_after(rec.decision_date)
        )
        counted = cal.add_working_days(pub.day, cat.publicity.working_days)
        published, publicity_end = pub.day, counted.day
        guessed = pub.weekday_only_years | counted.weekday_only_years
        start = counted.day + ONE_DAY
    else:
        start = rec.decision_date
    # An objection filed in time (by the end of the publicity period) holds the start until it
    # is decided; rejected, the restriction starts the day after the decision at the earliest.
    suspended = False
    if st.suspended_on is not None and publicity_end is not None:
        if st.suspended_on <= publicity_end:
            if st.resumed_on is None:
                suspended = True
            else:
                start = max(start, st.resumed_on + ONE_DAY)

    term = cat.term
    end: dt.date | None
    until: str | None = None
    ended_by: str | None = None
    if suspended:
        # No start yet, so no end either: a fixed term runs from the start it will get.
        start, end, until = dt.date.max, None, SUSPENDED_TEXT
    elif term.kind is TermKind.FIXED:
        ext = max(0, min(rec.extension_years, term.extension_max_years))
        if term.max_total_years:
            ext = min(ext, term.max_total_years - term.years)
        end = (
            _add_years(start, term.years + ext) - ONE_DAY
            if term.years
            else start + dt.timedelta(days=term.days) - ONE_DAY
        )
    elif term.kind is TermKind.PUBLICATION:
        end = _add_months(rec.decision_date, term.max_publication_months) - ONE_DAY
    else:
        end = None
        until = UNTIL_PAID if term.kind is TermKind.UNTIL_PAID else UNTIL_REMOVED
    natural_end = end

    def cut(day: dt.date, why: str) -> None:
        nonlocal end, until, ended_by
        if end is None or day < end:
            end, until, ended_by = day, None, why

    if st.fulfilled_on is not None and cat.ends_on_fulfilment:
        if term.kind is TermKind.UNTIL_PAID and _repeat_offence(st, cat, states, pack):
            assert term.repeat is not None
            cut(
                st.fulfilled_on + dt.timedelta(days=term.repeat.after_payment_days - 1), "fulfilled"
            )
        else:
            cut(st.fulfilled_on - ONE_DAY, "fulfilled")
    if st.withdrawn_on is not None:
        cut(st.withdrawn_on - ONE_DAY, "withdrawn")
    if st.repaired_on is not None:
        cut(st.repaired_on - ONE_DAY, "repaired")
    if ended_by is None and natural_end is not None:
        ended_by = "expired"

    if end is not None and on > end:
        status = Status.ENDED
    elif on < start:
        status = Status.PENDING
    else:
        status = Status.ACTIVE
    return Listing(
        ref=st.ref,
        subject_id=rec.subject_id,
        category=cat.id,
        list_id=cat.list_id,
        reason_code=cat.reason_code,
        legal_basis=rec.legal_basis,
        decision_date=rec.decision_date,
        published_on=published,
        publicity_ends=publicity_end,
        start=start,
        end=end,
        until_condition=until,
        ended_by=ended_by if status is Status.ENDED else None,
        status=status,
        weekday_only_years=guessed,
        suspended=suspended and status is Status.PENDING,
    )


def assess(
    subject: SubjectId,
    events: Iterable[RecordEvent],
    pack: RulePack,
    on: dt.date,
    calendar: WorkCalendar,
) -> Assessment:
    """Everything that applies to ``subject`` on day ``on``.

    ``events`` are the events of the subject's own records and of enterprise records that name
    the subject as legal representative; events dated after ``on`` are ignored, so the same
    inputs replayed to any date give that date's answer.
    """
    sid = subject.value
    states = replay(events, on)
    notes: list[str] = []
    listings: list[Listing] = []
    restrictions: list[Restriction] = []
    for st in states:
        rec = st.record
        own = rec.subject_id == sid
        bound = not own and rec.legal_representative_id == sid
        if not (own or bound):
            continue
        cat = pack.categories.get(rec.category)
        if cat is None:
            notes.append(
                f"record {st.ref}: category {rec.category!r} is not in rule pack "
                f"{pack.version}; no effect"
            )
            continue
        if own and subject.kind.value not in cat.subject_kinds:
            notes.append(
                f"record {st.ref}: category {cat.id} does not apply to a "
                f"{subject.kind.value}; no effect"
            )
            continue
        if subject.is_minor_on(rec.decision_date):
            notes.append(
                f"record {st.ref}: the subject was a minor on {rec.decision_date}; "
                "minors are never listed"
            )
            continue
        listing = _listing(st, cat, states, pack, calendar, on)
        if own:
            listings.append(listing)
        for memo, measure in pack.measures_for_list(cat.list_id):
            if bound and not measure.binds_legal_representative:
                continue
            restrictions.append(
                Restriction(
                    sector=measure.sector,
                    effect=measure.effect,
                    status=listing.status,
                    start=listing.start,
                    end=listing.end,
                    until_condition=listing.until_condition,
                    rule_id=cat.id,
                    reason_code=cat.reason_code,
                    list_id=cat.list_id,
                    memorandum_id=memo.id,
                    measure_id=measure.id,
                    records=(st.ref,),
                    rulepack_version=pack.version,
                    via=rec.subject_id if bound else None,
                    weekday_only_years=listing.weekday_only_years,
                    description=measure.description,
                    suspended=listing.suspended,
                )
            )
    order = {Status.ACTIVE: 0, Status.PENDING: 1, Status.ENDED: 2}
    restrictions.sort(key=lambda r: (order[r.status], r.sector, r.start, r.records))
    return Assessment(sid, on, pack.version, tuple(listings), tuple(restrictions), tuple(notes))
