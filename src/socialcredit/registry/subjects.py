"""Use cases on one subject: their whole file, and a point-of-sale check in one sector."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from socialcredit.domain.identity import SubjectId, parse_subject_id
from socialcredit.domain.records import RecordEvent, RecordState, replay
from socialcredit.domain.restrictions import Assessment, Decision, Restriction, assess
from socialcredit.errors import InvalidInput, NotFound
from socialcredit.runtime.registry import Registry
from socialcredit.store.codec import record_to_dict
from socialcredit.store.ports import Subject


@dataclass(frozen=True)
class SubjectFile:
    subject_id: SubjectId
    subject: Subject | None
    states: list[RecordState]
    assessment: Assessment
    calendar_source: str

    def to_dict(self) -> dict[str, Any]:
        sid, s, a = self.subject_id, self.subject, self.assessment
        return {
            "subject": {
                "id": sid.value,
                "kind": sid.kind.value,
                "name": s.name if s else None,
                "region_code": sid.region_code,
                "birth_date": _d(sid.birth_date),
                "age": sid.age_on(a.on),
                "sex": sid.sex,
                "legal_representative_id": s.legal_representative_id if s else None,
                "contact_on_file": bool(s and s.contact_email),
            },
            "as_of": a.on.isoformat(),
            "rulepack_version": a.rulepack_version,
            "calendar": self.calendar_source,
            "records": [_state(st, s.name if s else None) for st in self.states],
            "listings": [
                {
                    "record": str(x.ref),
                    "category": x.category,
                    "list": x.list_id,
                    "reason_code": x.reason_code,
                    "legal_basis": x.legal_basis,
                    "decision_date": x.decision_date.isoformat(),
                    "published_on": _d(x.published_on),
                    "publicity_ends": _d(x.publicity_ends),
                    "start": x.start.isoformat(),
                    "end": _d(x.end),
                    "until_condition": x.until_condition,
                    "status": x.status.value,
                    "ended_by": x.ended_by,
                    "weekday_only_years": sorted(x.weekday_only_years),
                }
                for x in a.listings
            ],
            "restrictions": [restriction_dict(r) for r in a.restrictions],
            "notes": list(a.notes),
        }


def _d(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def comparable_name(name: str | None) -> str:
    """A name as ingest compares it (``ingest/plan.py:check_names``): NFKC, no whitespace."""
    return "".join(unicodedata.normalize("NFKC", name or "").split())


def _state(st: RecordState, registry_name: str | None) -> dict[str, Any]:
    theirs = comparable_name(st.record.subject_name)
    return {
        **record_to_dict(st.record),
        # The authority's record names the subject otherwise than the registry does: flagged
        # for the clerk; notices use the registry's name.
        "name_differs": bool(theirs and registry_name and theirs != comparable_name(registry_name)),
        "fulfilled_on": _d(st.fulfilled_on),
        "withdrawn_on": _d(st.withdrawn_on),
        "withdrawal_reason": st.withdrawal_reason,
        "repaired_on": _d(st.repaired_on),
        "corrected_on": [d.isoformat() for d in st.corrected_on],
        "events": [
            {"type": e.type.value, "date": e.event_date.isoformat(), "reason": e.reason}
            for e in st.events
        ],
    }


def restriction_dict(r: Restriction) -> dict[str, Any]:
    return {
        "sector": r.sector,
        "effect": r.effect.value,
        "status": r.status.value,
        "start": r.start.isoformat(),
        "end": _d(r.end),
        "until_condition": r.until_condition,
        "rule_id": r.rule_id,
        "reason_code": r.reason_code,
        "list": r.list_id,
        "memorandum": r.memorandum_id,
        "measure": r.measure_id,
        "records": [str(x) for x in r.records],
        "via": r.via,
        "rulepack_version": r.rulepack_version,
        "explanation": r.explain(),
    }


def decision_dict(d: Decision, subject_id: str, on: dt.date) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "sector": d.sector,
        "decision": d.decision,
        "on": on.isoformat(),
        "until": _d(d.until),
        "until_condition": d.until_condition,
        "reasons": [
            {
                "rule_id": r.rule_id,
                "reason_code": r.reason_code,
                "records": [
                    {"authority": x.authority, "case_number": x.case_number} for x in r.records
                ],
                "via": r.via,
                "end": _d(r.end),
                "explanation": r.explain(),
            }
            for r in d.reasons
        ],
        "benefits": [{"rule_id": b.rule_id, "measure": b.measure_id} for b in d.benefits],
        "rulepack_version": d.rulepack_version,
    }


def _events(reg: Registry, sid: SubjectId) -> tuple[Subject | None, list[RecordEvent]]:
    with reg.uow() as uow:
        return uow.subjects.get(sid.value), uow.records.events_for_subject(sid.value)


def subject_file(reg: Registry, raw_id: str, on: dt.date | None = None) -> SubjectFile:
    """The subject's whole file as of ``on`` (default: today in the registry's zone)."""
    sid = parse_subject_id(raw_id, field="subject_id")
    day = on or reg.today()
    subject, events = _events(reg, sid)
    if subject is None and not events:
        raise NotFound(f"subject {sid.value} is not in the registry")
    a = assess(sid, events, reg.pack, day, reg.calendar)
    own = [st for st in replay(events, day) if st.record.subject_id == sid.value]
    return SubjectFile(sid, subject, own, a, reg.calendar.source)


def check(reg: Registry, raw_id: str, sector: str, on: dt.date | None = None) -> Decision:
    """Allow or deny ``sector`` for the subject on ``on``; a subject with no record is allowed."""
    if sector not in reg.pack.sectors:
        raise InvalidInput.one(
            "sector", f"not a sector of rule pack {reg.pack.version}; see `rules show`", sector
        )
    sid = parse_subject_id(raw_id, field="subject_id")
    day = on or reg.today()
    _, events = _events(reg, sid)
    return assess(sid, events, reg.pack, day, reg.calendar).decide(sector)


def name_mismatches(reg: Registry, *, authority: str | None = None) -> list[dict[str, Any]]:
    """Records whose name differs from the registry's name for their subject (the clerk's
    table of mismatches), by authority and case number."""
    from sqlalchemy import select

    from socialcredit.store import tables as t

    r, s = t.records.c, t.subjects.c
    q = (
        select(r.authority, r.case_number, r.subject_id, r.subject_name, s.name, r.decision_date)
        .join(t.subjects, s.id == r.subject_id)
        .where(r.subject_name != s.name)
        .order_by(r.authority, r.case_number)
    )
    if authority:
        q = q.where(r.authority == authority)
    with reg.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [
        {
            "authority": x.authority,
            "case_number": x.case_number,
            "subject_id": x.subject_id,
            "record_name": x.subject_name,
            "registry_name": x.name,
            "decision_date": str(x.decision_date)[:10],
        }
        for x in rows
        if comparable_name(x.subject_name) != comparable_name(x.name)
    ]
