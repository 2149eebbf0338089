"""Credit repair on application (NDRC Order No. 36) for administrative-penalty records.

Repair is a right once its conditions hold: the tier's minimum publication period has passed,
the obligations are met, and the subject makes a public credit commitment. So an application
that meets them is granted when filed: one transaction writes the ``repair`` case (decided,
upheld), the record's ``repaired`` event (publication, sharing and linked restrictions stop
from that day), the subject's change-feed entry, the notice and the audit entry. One that does
not is refused with the condition that fails and, for the period, the first day it will hold.

(Removal on fulfilment needs no application: the engine ends the measures on the day the
authority reports the obligation performed.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert

from socialcredit.domain import dueprocess as dp
from socialcredit.domain.records import EventType
from socialcredit.dueprocess import outbox
from socialcredit.dueprocess.cases import append_record_event, get_case, mark_changed, own_record
from socialcredit.dueprocess.letters import Letter
from socialcredit.errors import InvalidInput
from socialcredit.integrity import audit, log_rows
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_dueprocess import cases


def apply_for_repair(
    reg: Registry,
    subject_id: str,
    authority: str,
    case_number: str,
    commitment: str,
    obligations_met: bool,
    filed_by: str,
) -> dict[str, Any]:
    f, st, _ = own_record(reg, subject_id, authority, case_number)
    cat = reg.pack.categories.get(st.record.category)
    if cat is None:
        raise InvalidInput.one("record", "its category is not in the rule pack", st.record.category)
    today, now = reg.today(), reg.now()
    refusal = dp.repair_refusal(cat, st, today, commitment, obligations_met)
    if refusal is not None:
        field, reason = refusal
        raise InvalidInput.one(field, reason, f"{authority}/{case_number}")
    sid = f.subject_id.value
    with reg.engine.begin() as conn:
        cid = int(
            conn.execute(
                insert(cases).values(
                    subject_id=sid,
                    kind="repair",
                    record_authority=authority,
                    record_case_number=case_number,
                    grounds="repair",
                    statement=commitment.strip(),
                    documents=[],
                    filed_by=filed_by,
                    filed_on=today,
                    filed_at=now.astimezone(dt.UTC).replace(tzinfo=None),
                    due_on=today,
                    suspends_start=False,
                    reviewer="registry",
                    reviewer_body="registry",
                    decided_on=today,
                    decided_at=now.astimezone(dt.UTC).replace(tzinfo=None),
                    outcome="upheld",
                    decision_reasons=(
                        f"Conditions of NDRC Order No. 36 met: the {cat.tier} tier's minimum "
                        f"publication period ended on {dp.repair_earliest(cat, st).isoformat()}, "
                        "obligations met, public credit commitment made."
                    ),
                    commitment=commitment.strip(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        append_record_event(
            conn,
            reg,
            (authority, case_number),
            EventType.REPAIRED,
            today,
            fingerprint=f"case-{cid}-repaired",
            reason=f"repair case {cid}",
        )
        mark_changed(conn, reg, {sid, st.record.legal_representative_id or ""}, "repair")
        letter = Letter(
            f"Credit repair granted: record {authority}/{case_number}",
            f"Dear {st.record.subject_name},",
        )
        letter.add(
            "Repair",
            f"Granted on {today.isoformat()} (case {cid}).",
            "Publication and sharing of the record stop, and the restrictions linked to it are "
            "lifted from today in every sector.",
            f"Your public credit commitment: {commitment.strip()}",
        )
        outbox.queue(
            conn,
            reg,
            subject_id=sid,
            kind="repair_decided",
            letter=letter,
            dedupe_key=f"case:{cid}:decided",
            record=(authority, case_number),
            case_id=cid,
        )
        log_rows(conn, "case", [cid])
        audit.append(
            conn,
            now,
            filed_by,
            "repair.granted",
            subject_id=sid,
            target=f"case:{cid}",
            details={"record": f"{authority}/{case_number}", "tier": cat.tier},
        )
    return get_case(reg, cid)
