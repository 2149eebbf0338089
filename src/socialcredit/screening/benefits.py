"""Benefits (red-list incentives) as a second index of the same shape as the deny index.

The engine emits BENEFIT restrictions (e.g. deposit waivers for A-grade taxpayers). They are
rare, so they live in their own :class:`ScreeningIndex` whose "reason codes" are the benefit
measure ids: an allowed screening looks the subject up there too, in the requested sector only.
"""

from __future__ import annotations

from socialcredit.domain.identity import SubjectId, SubjectKind
from socialcredit.domain.restrictions import Assessment, Status
from socialcredit.domain.rules import Effect, RulePack
from socialcredit.screening.index import SubjectEntry
from socialcredit.screening.profiles import IN_FORCE, OPEN, Profile, Schema, Span


def benefit_schema(pack: RulePack) -> Schema:
    measures = sorted(
        {m.id for memo in pack.memoranda for m in memo.measures if m.effect is Effect.BENEFIT}
    )
    return Schema(pack.version, tuple(pack.sectors), tuple(measures) or ("none",))


def benefit_profile(assessment: Assessment, schema: Schema) -> Profile:
    spans: dict[tuple[int, int, int], int] = {}
    for r in assessment.restrictions:
        if r.effect is not Effect.BENEFIT or r.status is Status.ENDED:
            continue
        start = IN_FORCE if r.status is Status.ACTIVE else r.start.toordinal()
        end = OPEN if r.end is None else r.end.toordinal()
        k = (start, end, schema.reason_id(r.measure_id))
        spans[k] = spans.get(k, 0) | (1 << schema.bit(r.sector))
    return tuple(sorted(Span(mask, s, e, reason) for (s, e, reason), mask in spans.items()))


def benefit_entry(
    assessment: Assessment, schema: Schema, subject: SubjectId
) -> SubjectEntry | None:
    profile = benefit_profile(assessment, schema)
    if not profile:
        return None
    code = subject.value if subject.kind is SubjectKind.ENTERPRISE else None
    return SubjectEntry(subject.key, code, profile)
