"""Written decisions on objections and reconsiderations.

Upheld: the record is corrected (a ``corrected`` event with the new data) or withdrawn, and a
held start resumes; rejected: a held start resumes and, for an objection, the letter says until
when reconsideration may be asked. The subject is marked changed so screening follows at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update

from socialcredit.domain import dueprocess as dp
from socialcredit.domain.records import EventType, Record
from socialcredit.dueprocess import outbox
from socialcredit.dueprocess.assignment import case_facts, get_reviewer
from socialcredit.dueprocess.cases import (
    append_record_event,
    case_letter,
    get_case,
    mark_changed,
    open_case,
    own_record,
)
from socialcredit.dueprocess.clock import naive_utc
from socialcredit.errors import Forbidden, InvalidInput
from socialcredit.integrity import audit, log_rows
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t
from socialcredit.store.tables_dueprocess import cases


def _corrected(record: Record, correction: dict[str, Any]) -> Record:
    bad = sorted(set(correction) - dp.CORRECTABLE_FIELDS)
    if bad:
        raise InvalidInput.one(
            "correction", f"only {sorted(dp.CORRECTABLE_FIELDS)} can be corrected", ", ".join(bad)
        )
    changes: dict[str, Any] = {}
    for k, v in correction.items():
        try:
            if k == "amount_owed":
                changes[k] = None if v is None else Decimal(str(v))
            elif k == "decision_date":
                changes[k] = dt.date.fromisoformat(str(v))
            elif k == "extension_years":
                changes[k] = int(v)
            else:
                if not str(v).strip():
                    raise ValueError
                changes[k] = str(v)
        except (ValueError, InvalidOperation, TypeError):
            raise InvalidInput.one(f"correction.{k}", "is not a valid value", str(v)) from None
    return replace(record, **changes)


def decide(
    reg: Registry,
    case_id: int,
    reviewer_id: str,
    outcome: str,
    reasons: str,
    correction: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A written decision. Upheld: the record is corrected or withdrawn at once, everywhere."""
    try:
        out = dp.Outcome(outcome)
    except ValueError:
        raise InvalidInput.one("outcome", "must be upheld or rejected", outcome) from None
    if len(reasons.strip()) < 10:
        raise InvalidInput.one("reasons", "a written decision gives its reasons", reasons)
    if correction and out is not dp.Outcome.UPHELD:
        raise InvalidInput.one("correction", "only an upheld objection corrects a record")
    today, now = reg.today(), reg.now()
    with reg.engine.connect() as conn:
        pre = open_case(conn, case_id)
    current: Record | None = None
    if out is dp.Outcome.UPHELD:
        # Read before the writing transaction: on SQLite a second writer would wait for us.
        _, st, _ = own_record(reg, pre.subject_id, pre.record_authority, pre.record_case_number)
        current = st.record
    with reg.engine.begin() as conn:
        row = open_case(conn, case_id)
        rv = get_reviewer(conn, reviewer_id)
        facts = case_facts(conn, row)
        why = dp.reviewer_conflict(rv, facts)
        if why:
            raise Forbidden(why)
        if row.reviewer is not None and row.reviewer != rv.id:
            raise Forbidden(f"case {case_id} is assigned to reviewer {row.reviewer}, not {rv.id}")
        ref = (row.record_authority, row.record_case_number)
        stored = conn.execute(
            select(t.records).where(
                t.records.c.authority == ref[0], t.records.c.case_number == ref[1]
            )
        ).one()
        effect = "none"
        if out is dp.Outcome.UPHELD:
            assert current is not None
            if correction:
                append_record_event(
                    conn,
                    reg,
                    ref,
                    EventType.CORRECTED,
                    today,
                    fingerprint=f"case-{case_id}-corrected",
                    reason=f"objection case {case_id}",
                    payload=_corrected(current, correction),
                )
                effect = "corrected"
                if row.suspends_start:
                    append_record_event(
                        conn,
                        reg,
                        ref,
                        EventType.RESUMED,
                        today,
                        fingerprint=f"case-{case_id}-resumed",
                        reason=f"case {case_id} decided",
                    )
            else:
                eid = append_record_event(
                    conn,
                    reg,
                    ref,
                    EventType.WITHDRAWN,
                    today,
                    fingerprint=f"case-{case_id}-withdrawn",
                    reason="objection_upheld",
                )
                effect = f"withdrawn (event {eid})"
        elif row.suspends_start:
            append_record_event(
                conn,
                reg,
                ref,
                EventType.RESUMED,
                today,
                fingerprint=f"case-{case_id}-resumed",
                reason=f"case {case_id} rejected",
            )
            effect = "start resumed"
        conn.execute(
            update(cases)
            .where(cases.c.id == case_id)
            .values(
                reviewer=rv.id,
                reviewer_body=rv.body,
                decided_on=today,
                decided_at=naive_utc(now),
                outcome=out.value,
                decision_reasons=reasons.strip(),
                correction=correction,
            )
        )
        mark_changed(conn, reg, {row.subject_id, stored.legal_representative_id}, row.kind)
        lines = [
            f"Decision: {out.value} on {today.isoformat()} by reviewer {rv.id} ({rv.body})",
            f"Reasons: {reasons.strip()}",
        ]
        if out is dp.Outcome.UPHELD and correction:
            lines.append(f"The record has been corrected: {correction}.")
        elif out is dp.Outcome.UPHELD:
            lines.append(
                "The record has been withdrawn; the measures it caused are lifted from today "
                "in every sector."
            )
        elif row.kind == "objection":
            last = dp.reconsideration_filing_ends(reg.pack, today)
            lines.append(
                f"You may ask for reconsideration by a higher body until {last.isoformat()} "
                "(POST /v1/me/reconsiderations); the listing stays in force meanwhile."
            )
        outbox.queue(
            conn,
            reg,
            subject_id=row.subject_id,
            kind=f"{row.kind}_decided",
            letter=case_letter(
                reg,
                stored.subject_name,
                f"Decision on your {row.kind} {case_id}: {out.value}",
                ("The decision", lines),
            ),
            dedupe_key=f"case:{case_id}:decided",
            record=ref,
            case_id=case_id,
        )
        log_rows(conn, "case", [case_id])
        audit.append(
            conn,
            now,
            f"reviewer:{rv.id}",
            "case.decided",
            subject_id=row.subject_id,
            target=f"case:{case_id}",
            details={"outcome": out.value, "effect": effect},
        )
    return get_case(reg, case_id)
