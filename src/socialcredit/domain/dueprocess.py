"""Due process as pure rules: objection, reconsideration and repair, their states and deadlines.

Standard library only. The services feed these functions what the store holds and act on
the answers; every deadline the registry enforces is computed here from the rule pack's
``deadlines`` (SPC rules Arts. 11-12) or a category's repair tier (NDRC Order No. 36).

States of a case::

    objection / reconsideration:  filed --assign--> assigned --decide--> upheld | rejected
    repair (a right once the conditions hold): filed and granted at once, or refused on filing

A rejected objection may be taken to reconsideration within ``reconsideration_filing_days``
of the rejection, before a reviewer of a higher level; the listing stays in force meanwhile.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from socialcredit.domain.records import RecordState
from socialcredit.domain.restrictions import Listing
from socialcredit.domain.rules import Category, RulePack, Start


class CaseKind(StrEnum):
    OBJECTION = "objection"
    RECONSIDERATION = "reconsideration"
    REPAIR = "repair"


class Grounds(StrEnum):
    NOT_ME = "not_me"  # should not have been listed: not the subject
    WRONG_DATA = "wrong_data"  # the data are wrong
    SHOULD_BE_REMOVED = "should_be_removed"  # should already have been removed
    RULE_NOT_APPLICABLE = "rule_not_applicable"  # e.g. a minor, a category not for this kind
    REPAIR = "repair"  # a repair application (no objection grounds)


class Outcome(StrEnum):
    UPHELD = "upheld"
    REJECTED = "rejected"


class CaseState(StrEnum):
    FILED = "filed"
    ASSIGNED = "assigned"
    UPHELD = "upheld"
    REJECTED = "rejected"


OBJECTION_GROUNDS = frozenset(g for g in Grounds if g is not Grounds.REPAIR)
# Fields an upheld "wrong data" objection may correct; who and which decision stay as they are.
CORRECTABLE_FIELDS = frozenset(
    {"subject_name", "amount_owed", "decision_date", "extension_years", "legal_basis"}
)


@dataclass(frozen=True)
class Reviewer:
    id: str
    name: str
    body: str  # an authority code or "registry"
    level: str  # first | higher
    subject_id: str | None = None  # the reviewer's own resident ID
    active: bool = True


@dataclass(frozen=True)
class CaseFacts:
    """What a decision on a case depends on, read from the store."""

    id: int
    kind: CaseKind
    subject_id: str
    record_authority: str
    legal_representative_id: str | None
    filed_on: dt.date
    due_on: dt.date
    reviewer: str | None
    decided_on: dt.date | None
    earlier_reviewers: frozenset[str] = frozenset()  # deciders of the case it reconsiders

    @property
    def state(self) -> CaseState:
        if self.decided_on is not None:
            raise ValueError("use the stored outcome for a decided case")
        return CaseState.ASSIGNED if self.reviewer else CaseState.FILED


def add_days(day: dt.date, n: int) -> dt.date:
    return day + dt.timedelta(days=n)


def objection_due(pack: RulePack, filed_on: dt.date) -> dt.date:
    """Correction requests are reviewed within ``objection_days`` days (SPC rules Art. 11)."""
    return add_days(filed_on, pack.objection_days)


def reconsideration_filing_ends(pack: RulePack, rejected_on: dt.date) -> dt.date:
    """The last day to ask for reconsideration of a rejection (Art. 12: within 10 days)."""
    return add_days(rejected_on, pack.reconsideration_filing_days)


def reconsideration_due(pack: RulePack, filed_on: dt.date) -> dt.date:
    """Reconsideration is decided within ``reconsideration_decision_days`` days (Art. 12)."""
    return add_days(filed_on, pack.reconsideration_decision_days)


def is_overdue(due_on: dt.date, decided_on: dt.date | None, today: dt.date) -> bool:
    """An open case past its last day (the due day itself is still in time)."""
    return decided_on is None and today > due_on


def objection_deadline(listing: Listing) -> dt.date | None:
    """The last day an objection holds the start: the end of the publicity period, if any."""
    return listing.publicity_ends


def suspends_start(cat: Category, listing: Listing | None, filed_on: dt.date) -> bool:
    """An objection filed by the end of the publicity period holds the start until decided."""
    if cat.start is not Start.AFTER_PUBLICITY or listing is None:
        return False
    ends = listing.publicity_ends
    return ends is not None and filed_on <= ends


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def repair_earliest(cat: Category, st: RecordState) -> dt.date:
    """The first day repair may be granted: the tier's minimum publication period has passed."""
    return add_months(st.record.decision_date, cat.term.min_publication_months)


def repair_refusal(
    cat: Category, st: RecordState, on: dt.date, commitment: str, obligations_met: bool
) -> tuple[str, str] | None:
    """Why repair cannot be granted on ``on`` as (field, reason), or None if it is a right now."""
    if not cat.repairable:
        return ("record", f"category {cat.id} is not repairable; object or wait for expiry")
    if st.repaired_on is not None:
        return ("record", f"already repaired on {st.repaired_on.isoformat()}")
    if st.withdrawn_on is not None:
        return ("record", f"already withdrawn on {st.withdrawn_on.isoformat()}")
    earliest = repair_earliest(cat, st)
    if on < earliest:
        return (
            "on",
            f"the {cat.tier or 'tier'} tier's minimum publication period "
            f"({cat.term.min_publication_months} months) ends before {earliest.isoformat()}; "
            f"apply from {earliest.isoformat()}",
        )
    if not obligations_met:
        return ("obligations_met", "the conduct must be corrected and obligations fully met")
    if len(commitment.strip()) < 10:
        return ("commitment", "a public credit commitment (at least 10 characters) is required")
    return None


def reviewer_conflict(r: Reviewer, case: CaseFacts) -> str | None:
    """Why ``r`` may not decide ``case``, or None. A reviewer never decides their own record."""
    if not r.active:
        return f"reviewer {r.id} is not active"
    own = {case.subject_id, case.legal_representative_id} - {None}
    if r.subject_id is not None and r.subject_id in own:
        return f"reviewer {r.id} is the subject (or its legal representative) of this record"
    if case.kind is CaseKind.OBJECTION:
        if r.level != "first" or r.body not in (case.record_authority, "registry"):
            return (
                f"reviewer {r.id} ({r.body}, {r.level}) is not of the listing authority "
                f"{case.record_authority} or the registry"
            )
    elif case.kind is CaseKind.RECONSIDERATION:
        if r.level != "higher":
            return f"reviewer {r.id} is not of a higher body: reconsideration goes one level up"
        if r.id in case.earlier_reviewers:
            return f"reviewer {r.id} decided the objection being reconsidered"
    return None
