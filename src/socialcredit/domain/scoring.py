"""Regional scoring programmes: a resident's records + a programme + a date -> score and grade.

A pure function (:func:`score_subject`), explained item by item, with counterfactuals that are
computed by re-running the same arithmetic, never estimated. The bulk path
(``socialcredit.scoring.bulk``) implements exactly these rules over columns; a property test
holds the two together.

The rules, in one place (dates are whole days; a "stop" day is the first day not counted):

* Only the subject's own records count, and only if they name an authority, a case number and
  a legal basis. A record decided while the subject was a minor never counts.
* A record counts from its decision date until its window ends (the anniversary of the decision
  ``counts_for.years`` later, plus ``counts_for.days``; 29 February's anniversary in a common
  year is 1 March, as for ages), or earlier if it is withdrawn or repaired, or fulfilled when the
  item ``ends_on_fulfilment``. An event dated D stops it counting on D.
* An item with ``every_days`` accrues its points once per started period while it counts
  (card arrears: -10 a month); such items always end on fulfilment.
* A cap bounds the total of one item for one subject (e.g. at most -100 for contract defaults).
* Eligible: the programme is switched on, the subject is a person resident in the region
  (``residence_region`` starts with the programme's prefix), aged ``min_age`` or more and
  resident for ``min_residence_years`` full years. Anyone else gets no score at all (``None``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from socialcredit.domain.identity import SubjectId, SubjectKind
from socialcredit.domain.programmes import (
    MINOR_AGE as MINOR_AGE,
)
from socialcredit.domain.programmes import (  # the programme model, re-exported
    Eligibility as Eligibility,
)
from socialcredit.domain.programmes import (
    Grade as Grade,
)
from socialcredit.domain.programmes import (
    Programme as Programme,
)
from socialcredit.domain.programmes import (
    ScoreRule as ScoreRule,
)
from socialcredit.domain.programmes import (
    ScoringCategory as ScoringCategory,
)
from socialcredit.domain.programmes import (
    ScoringPack as ScoringPack,
)
from socialcredit.domain.programmes import (
    Window as Window,
)
from socialcredit.domain.programmes import (
    anniversary as anniversary,
)
from socialcredit.domain.programmes import (
    cutoff as cutoff,
)
from socialcredit.domain.records import RecordEvent, RecordRef, RecordState, replay


class StopReason(StrEnum):
    WINDOW = "its counting window ends"
    FULFILLED = "fulfilled"
    WITHDRAWN = "withdrawn"
    REPAIRED = "repaired"


@dataclass(frozen=True)
class ScoreItem:
    """One record that moves the score on the day asked about."""

    ref: RecordRef
    category: str
    rule_id: str
    rule_name: str
    points: int  # before any cap
    periods: int  # 1, or the periods accrued so far for an every_days rule
    counts_from: dt.date
    stops_on: dt.date  # first day it no longer counts, if nothing else happens
    fulfilment_stops_it: bool  # an open obligation whose fulfilment would stop it now

    def explain(self) -> str:
        acc = f" ({self.periods} periods)" if self.periods > 1 else ""
        pay = "; fulfilling it stops it counting" if self.fulfilment_stops_it else ""
        return (
            f"{self.points:+d}{acc} {self.rule_name} (record {self.ref}, {self.category}) "
            f"counts from {self.counts_from.isoformat()} until {self.stops_on.isoformat()} "
            f"exclusive{pay}"
        )


@dataclass(frozen=True)
class CapApplied:
    rule_id: str
    raw_total: int
    capped_total: int


class CounterfactualKind(StrEnum):
    FULFIL = "fulfil"
    FULFIL_ALL = "fulfil_all"
    EXPIRY = "expiry"


@dataclass(frozen=True)
class Counterfactual:
    kind: CounterfactualKind
    refs: tuple[RecordRef, ...]
    on: dt.date
    score: int
    grade: str

    def explain(self) -> str:
        refs = ", ".join(str(r) for r in self.refs)
        if self.kind is CounterfactualKind.EXPIRY:
            return (
                f"record {refs} stops counting on {self.on.isoformat()}, lifting you to grade "
                f"{self.grade} (score {self.score})"
            )
        what = "case" if self.kind is CounterfactualKind.FULFIL else "all open cases"
        return (
            f"fulfilling {what} {refs} lifts you to grade {self.grade} (score {self.score}) "
            f"on {self.on.isoformat()}"
        )


@dataclass(frozen=True)
class ScoreResult:
    subject_id: str
    programme_id: str
    programme_version: str
    on: dt.date
    base: int
    score: int
    grade: str
    items: tuple[ScoreItem, ...]
    caps: tuple[CapApplied, ...]
    counterfactuals: tuple[Counterfactual, ...]
    notes: tuple[str, ...]
    illustrative: bool

    def explain(self) -> list[str]:
        lines = [f"base {self.base}"]
        lines += [i.explain() for i in self.items]
        lines += [
            f"cap on {c.rule_id}: {c.raw_total:+d} counted as {c.capped_total:+d}"
            for c in self.caps
        ]
        lines.append(f"score {self.score}, grade {self.grade}")
        lines += [c.explain() for c in self.counterfactuals]
        lines += list(self.notes)
        if self.illustrative:
            lines.append("thresholds or points of this programme are illustrative")
        return lines


@dataclass(frozen=True)
class _Line:
    """A record reduced to what the arithmetic needs, as known on the day asked about."""

    ref: RecordRef
    category: str
    rule: ScoreRule
    start: dt.date
    stop: dt.date
    open_obligation: bool


def _lines(
    subject: SubjectId, states: Iterable[RecordState], programme: Programme, on: dt.date
) -> tuple[list[_Line], list[str]]:
    lines: list[_Line] = []
    notes: list[str] = []
    for st in states:
        rec = st.record
        if rec.subject_id != subject.value or st.listed_on > on or rec.decision_date > on:
            continue
        rule = programme.rule_for(rec.category)
        if rule is None:
            continue
        if not (rec.authority and rec.case_number and rec.legal_basis):
            notes.append(f"record {st.ref}: no legal decision named; it does not count")
            continue
        if subject.is_minor_on(rec.decision_date):
            notes.append(f"record {st.ref}: decided while the subject was a minor; not counted")
            continue
        stop = rule.counts_for.stop(rec.decision_date)
        ends = [st.withdrawn_on, st.repaired_on]
        if rule.ends_on_fulfilment:
            ends.append(st.fulfilled_on)
        for d in ends:
            if d is not None and d <= on:
                stop = min(stop, d)
        fulfilled = st.fulfilled_on is not None and st.fulfilled_on <= on
        lines.append(_Line(st.ref, rec.category, rule, rec.decision_date, stop, not fulfilled))
    return lines, notes


def _periods(line: _Line, day: dt.date) -> int:
    if line.rule.every_days <= 0:
        return 1
    return (day - line.start).days // line.rule.every_days + 1


def _total(
    programme: Programme, lines: Sequence[_Line], day: dt.date
) -> tuple[int, list[CapApplied]]:
    by_rule: dict[str, tuple[ScoreRule, int]] = {}
    for ln in lines:
        if ln.start <= day < ln.stop:
            rule, total = by_rule.get(ln.rule.id, (ln.rule, 0))
            by_rule[ln.rule.id] = (rule, total + ln.rule.points * _periods(ln, day))
    score = programme.base
    caps = []
    for rid, (rule, raw) in sorted(by_rule.items()):
        kept = rule.clamp(raw)
        if kept != raw:
            caps.append(CapApplied(rid, raw, kept))
        score += kept
    return score, caps


def _counterfactuals(
    programme: Programme, lines: list[_Line], on: dt.date, score: int
) -> list[Counterfactual]:
    now = programme.grade_index(score)
    out: list[Counterfactual] = []
    counting = [ln for ln in lines if ln.start <= on < ln.stop]
    payable = [
        ln
        for ln in counting
        if ln.open_obligation and ln.rule.ends_on_fulfilment and ln.rule.points < 0
    ]
    for ln in payable:
        s, _ = _total(programme, [x if x is not ln else replace(x, stop=on) for x in lines], on)
        if programme.grade_index(s) < now:
            out.append(
                Counterfactual(CounterfactualKind.FULFIL, (ln.ref,), on, s, programme.grade_of(s))
            )
    if len(payable) > 1 and not out:
        paid = {id(x) for x in payable}
        s, _ = _total(programme, [replace(x, stop=on) if id(x) in paid else x for x in lines], on)
        if programme.grade_index(s) < now:
            refs = tuple(x.ref for x in payable)
            out.append(
                Counterfactual(CounterfactualKind.FULFIL_ALL, refs, on, s, programme.grade_of(s))
            )
    # Between two stop days a score can only fall (accrual) or stay, so the first lift, if
    # any, happens on a stop day: try each in order.
    for day in sorted({ln.stop for ln in counting}):
        s, _ = _total(programme, lines, day)
        if programme.grade_index(s) < now:
            refs = tuple(ln.ref for ln in counting if ln.stop == day)
            out.append(
                Counterfactual(CounterfactualKind.EXPIRY, refs, day, s, programme.grade_of(s))
            )
            break
    return out


def eligible(
    subject: SubjectId,
    residence_region: str,
    resident_since: dt.date | None,
    programme: Programme,
    on: dt.date,
) -> bool:
    if not programme.enabled or subject.kind is not SubjectKind.PERSON:
        return False
    if not residence_region.startswith(programme.region_prefix):
        return False
    age = subject.age_on(on)
    if age is None or age < programme.eligibility.min_age:
        return False
    return resident_since is not None and resident_since <= cutoff(
        on, programme.eligibility.min_residence_years
    )


def score_subject(
    subject: SubjectId,
    residence_region: str,
    resident_since: dt.date | None,
    records: Sequence[RecordState] | Sequence[RecordEvent],
    programme: Programme,
    on: dt.date,
) -> ScoreResult | None:
    """The subject's score and grade on ``on``, explained; None if not eligible or switched off.

    ``records`` are the subject's record events (replayed here to ``on``) or record states;
    anything dated after ``on`` is ignored, so the same inputs give any past day's answer.
    Recomputing one subject after a record changes is just calling this again.
    """
    if not eligible(subject, residence_region, resident_since, programme, on):
        return None
    states: list[RecordState] = [
        s for s in replay([e for e in records if isinstance(e, RecordEvent)], on)
    ]
    states += [s for s in records if isinstance(s, RecordState)]
    lines, notes = _lines(subject, states, programme, on)
    score, caps = _total(programme, lines, on)
    items = tuple(
        ScoreItem(
            ref=ln.ref,
            category=ln.category,
            rule_id=ln.rule.id,
            rule_name=ln.rule.name,
            points=ln.rule.points * _periods(ln, on),
            periods=_periods(ln, on),
            counts_from=ln.start,
            stops_on=ln.stop,
            fulfilment_stops_it=ln.open_obligation and ln.rule.ends_on_fulfilment,
        )
        for ln in sorted(lines, key=lambda x: (x.start, x.ref))
        if ln.start <= on < ln.stop
    )
    return ScoreResult(
        subject_id=subject.value,
        programme_id=programme.id,
        programme_version=programme.version,
        on=on,
        base=programme.base,
        score=score,
        grade=programme.grade_of(score),
        items=items,
        caps=tuple(caps),
        counterfactuals=tuple(_counterfactuals(programme, lines, on, score)),
        notes=tuple(notes),
        illustrative=programme.illustrative
        or any(ln.rule.illustrative for ln in lines if ln.start <= on < ln.stop),
    )
