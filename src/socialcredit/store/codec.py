"""Records to and from the JSON payload of a 'corrected' event, and event fingerprints."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

from socialcredit.domain.records import Record

LISTED_FINGERPRINT = "listed"  # one listing per record: the record's unique key already says so


def record_to_dict(r: Record) -> dict[str, Any]:
    return {
        "authority": r.authority,
        "case_number": r.case_number,
        "category": r.category,
        "subject_id": r.subject_id,
        "subject_name": r.subject_name,
        "decision_date": r.decision_date.isoformat(),
        "legal_basis": r.legal_basis,
        "amount_owed": None if r.amount_owed is None else str(r.amount_owed),
        "extension_years": r.extension_years,
        "evidence_ref": r.evidence_ref,
        "legal_representative_id": r.legal_representative_id,
        "legal_representative_name": r.legal_representative_name,
    }


def record_to_json(r: Record) -> str:
    return json.dumps(record_to_dict(r), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def record_from_mapping(d: Any) -> Record:
    """A Record from a payload dict or a database row mapping (dates as date or ISO text)."""
    decision = d["decision_date"]
    if isinstance(decision, str):
        decision = dt.date.fromisoformat(decision)
    amount = d["amount_owed"]
    return Record(
        authority=d["authority"],
        case_number=d["case_number"],
        category=d["category"],
        subject_id=d["subject_id"],
        subject_name=d["subject_name"],
        decision_date=decision,
        legal_basis=d["legal_basis"],
        amount_owed=None if amount is None else Decimal(str(amount)),
        extension_years=int(d["extension_years"] or 0),
        evidence_ref=d["evidence_ref"],
        legal_representative_id=d["legal_representative_id"],
        legal_representative_name=d["legal_representative_name"],
    )


def record_from_json(text: str | dict[str, Any]) -> Record:
    return record_from_mapping(json.loads(text) if isinstance(text, str) else text)


def event_fingerprint(type_: str, event_date: str, reason: str | None, payload: str | None) -> str:
    """Identity of an event on a record: the same fields re-sent give the same fingerprint."""
    if type_ == "listed":
        return LISTED_FINGERPRINT
    h = hashlib.sha256()
    for part in (type_, event_date, reason or "", payload or ""):
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()
