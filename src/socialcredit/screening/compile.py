"""Engine output -> index entries: what the restriction engine decided, laid out for lookup.

Only denies that are active or pending on the assessment's day are kept (ended ones can
never come back without a new event, and a new event means a new assessment and a delta).
A span already in force gets start IN_FORCE, so subjects listed on different days share a
profile; a pending span keeps its start, so it comes into force on its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from socialcredit.domain.identity import SubjectId, SubjectKind, parse_subject_id
from socialcredit.domain.restrictions import Assessment, Status
from socialcredit.domain.rules import Effect, RulePack
from socialcredit.screening.index import ScreeningIndex, SubjectEntry
from socialcredit.screening.profiles import IN_FORCE, OPEN, Profile, Schema, Span


def profile_of(assessment: Assessment, schema: Schema) -> Profile:
    """The assessment's enforceable denies as spans; empty if it has none."""
    if assessment.rulepack_version != schema.rulepack_version:
        raise ValueError(
            f"assessment of {assessment.subject_id} used rule pack "
            f"{assessment.rulepack_version}, the index is for {schema.rulepack_version}"
        )
    spans: dict[tuple[int, int, int], int] = {}
    for r in assessment.restrictions:
        if r.effect is not Effect.DENY or r.status is Status.ENDED:
            continue
        start = IN_FORCE if r.status is Status.ACTIVE else r.start.toordinal()
        end = OPEN if r.end is None else r.end.toordinal()
        k = (start, end, schema.reason_id(r.reason_code))
        spans[k] = spans.get(k, 0) | (1 << schema.bit(r.sector))
    return tuple(sorted(Span(mask, s, e, reason) for (s, e, reason), mask in spans.items()))


def entry_for(
    assessment: Assessment, schema: Schema, subject: SubjectId | None = None
) -> SubjectEntry | None:
    """The index entry of one subject, or None if nothing is to be denied (remove it).

    Pass ``subject`` when the caller has it parsed already; otherwise it is parsed here.
    """
    sid = subject if subject is not None else parse_subject_id(assessment.subject_id)
    if sid.value != assessment.subject_id:
        raise ValueError(f"subject {sid.value} does not match {assessment.subject_id}")
    profile = profile_of(assessment, schema)
    if not profile:
        return None
    code = sid.value if sid.kind is SubjectKind.ENTERPRISE else None
    return SubjectEntry(sid.key, code, profile)


def compile_index(assessments: Iterable[Assessment], pack: RulePack) -> ScreeningIndex:
    """An index of every assessed subject with an active or pending deny."""
    schema = Schema.from_pack(pack)
    entries = (entry_for(a, schema) for a in assessments)
    return ScreeningIndex.from_entries(schema, (e for e in entries if e is not None))


def subject_ref(subject: SubjectId) -> tuple[int, str | None]:
    """What ``ScreeningIndex.with_changes`` takes as a removal for this subject."""
    return subject.key, subject.value if subject.kind is SubjectKind.ENTERPRISE else None
