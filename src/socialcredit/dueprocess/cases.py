"""Objections and reconsideration as cases: filed, assigned to a reviewer, decided in writing.

Every change is one transaction: the case row, the record events it causes (``suspended`` /
``resumed`` / ``withdrawn`` with reason ``objection_upheld`` / ``corrected``), the subject's
entry in ``subject_changes`` (so screening servers patch their index within a second), the
notice to the subject and the audit entry. Deadlines come from :mod:`domain.dueprocess`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, func, insert, select, union_all, update

from socialcredit.domain import dueprocess as dp
from socialcredit.domain.identity import parse_subject_id
from socialcredit.domain.records import EventType, Record, RecordState
from socialcredit.domain.restrictions import Listing
from socialcredit.dueprocess import audit, notices
from socialcredit.errors import Conflict, Forbidden, InvalidInput, NotFound
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t
from socialcredit.store.codec import record_to_json
from socialcredit.store.tables_dueprocess import cases, reviewers
from socialcredit.store.tables_screening import subject_changes

# Record ids are assigned under the ingest service's advisory lock on PostgreSQL; registry
# events take the same lock so the two never race for an id.
RECORD_WRITE_LOCK = 0x5C_1A_6E_57


def _naive(ts: dt.datetime) -> dt.datetime:
    return ts.astimezone(dt.UTC).replace(tzinfo=None)


# --- shared helpers (repair uses them too) -------------------------------------------------


def own_record(
    reg: Registry, subject_id: str, authority: str, case_number: str
) -> tuple[Any, RecordState, Listing | None]:
    """The subject's file, the record's state and its listing; NotFound if not theirs."""
    from socialcredit.registry.subjects import subject_file

    f = subject_file(reg, subject_id)
    st = next(
        (s for s in f.states if s.ref.authority == authority and s.ref.case_number == case_number),
        None,
    )
    if st is None:
        raise NotFound(
            f"record {authority}/{case_number} is not a record of subject {f.subject_id.value}"
        )
    listing = next((x for x in f.assessment.listings if x.ref == st.ref), None)
    return f, st, listing


def append_record_event(
    conn: Connection,
    reg: Registry,
    ref: tuple[str, str],
    kind: EventType,
    day: dt.date,
    *,
    fingerprint: str,
    reason: str | None = None,
    payload: Record | None = None,
) -> int:
    """Append a registry event to a record in the caller's transaction; return its id.

    Like an authority's, the event comes in a batch of its own (source ``registry:...``) and
    takes the next number of the sequence records and events share, under the ingest lock.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({RECORD_WRITE_LOCK})")
    r = t.records.c
    rid = conn.execute(
        select(r.id).where(r.authority == ref[0], r.case_number == ref[1])
    ).scalar_one()
    top = union_all(
        select(func.coalesce(func.max(t.records.c.id), 0).label("m")),
        select(func.coalesce(func.max(t.record_events.c.id), 0).label("m")),
    ).subquery()
    eid = int(conn.execute(select(func.max(top.c.m))).scalar_one()) + 1
    source = f"registry:{fingerprint}"
    batch = conn.execute(
        insert(t.batches).values(
            source_name=source,
            sha256=hashlib.sha256(f"{source}:{rid}".encode()).hexdigest(),
            received_at=_naive(reg.now()),
            lines=1,
            accepted=1,
            duplicates=0,
            rejected=0,
        )
    ).inserted_primary_key
    assert batch is not None
    conn.execute(
        insert(t.record_events).values(
            id=eid,
            record_id=rid,
            type=kind.value,
            event_date=day,
            payload=None if payload is None else record_to_json(payload),
            reason=reason,
            fingerprint=fingerprint,
            batch_id=int(batch[0]),
        )
    )
    return eid


def mark_changed(conn: Connection, reg: Registry, subject_ids: set[str], cause: str) -> None:
    for sid in sorted(s for s in subject_ids if s):
        conn.execute(
            insert(subject_changes).values(subject_id=sid, at=_naive(reg.now()), cause=cause)
        )


# --- reviewers -----------------------------------------------------------------------------


def add_reviewer(reg: Registry, r: dp.Reviewer, actor: str) -> dict[str, Any]:
    if r.level not in ("first", "higher"):
        raise InvalidInput.one("level", "must be first or higher", r.level)
    if not r.id.strip():
        raise InvalidInput.one("id", "must not be empty", r.id)
    if r.subject_id is not None:
        r = replace(r, subject_id=parse_subject_id(r.subject_id, "subject_id").value)
    with reg.engine.begin() as conn:
        if conn.execute(select(reviewers.c.id).where(reviewers.c.id == r.id)).first():
            raise Conflict(f"reviewer {r.id} already exists")
        conn.execute(
            insert(reviewers).values(
                id=r.id,
                name=r.name,
                body=r.body,
                level=r.level,
                subject_id=r.subject_id,
                active=True,
                created_at=_naive(reg.now()),
            )
        )
        audit.append(
            conn,
            reg.now(),
            actor,
            "reviewer.added",
            target=f"reviewer:{r.id}",
            details={"body": r.body, "level": r.level},
        )
    return {"id": r.id, "name": r.name, "body": r.body, "level": r.level}


def _reviewer(conn: Connection, rid: str) -> dp.Reviewer:
    row = conn.execute(select(reviewers).where(reviewers.c.id == rid)).first()
    if row is None:
        raise NotFound(f"reviewer {rid} does not exist")
    return dp.Reviewer(row.id, row.name, row.body, row.level, row.subject_id, bool(row.active))


def _facts(conn: Connection, row: Any) -> dp.CaseFacts:
    rep = conn.execute(
        select(t.records.c.legal_representative_id).where(
            t.records.c.authority == row.record_authority,
            t.records.c.case_number == row.record_case_number,
        )
    ).scalar_one_or_none()
    earlier: frozenset[str] = frozenset()
    if row.parent_case_id is not None:
        p = conn.execute(select(cases.c.reviewer).where(cases.c.id == row.parent_case_id)).first()
        earlier = frozenset({p.reviewer} if p and p.reviewer else set())
    return dp.CaseFacts(
        id=row.id,
        kind=dp.CaseKind(row.kind),
        subject_id=row.subject_id,
        record_authority=row.record_authority,
        legal_representative_id=rep,
        filed_on=row.filed_on,
        due_on=row.due_on,
        reviewer=row.reviewer,
        decided_on=row.decided_on,
        earlier_reviewers=earlier,
    )


def _auto_assign(conn: Connection, case_id: int) -> str | None:
    """The eligible reviewer with the fewest open cases (then by id), or None."""
    row = conn.execute(select(cases).where(cases.c.id == case_id)).one()
    facts = _facts(conn, row)
    open_counts: dict[str, int] = dict(
        conn.execute(
            select(cases.c.reviewer, func.count())
            .where(cases.c.decided_on.is_(None), cases.c.reviewer.is_not(None))
            .group_by(cases.c.reviewer)
        ).all()
    )
    pool = []
    for r in conn.execute(select(reviewers).where(reviewers.c.active.is_(True))):
        rv = dp.Reviewer(r.id, r.name, r.body, r.level, r.subject_id, bool(r.active))
        if dp.reviewer_conflict(rv, facts) is None:
            pool.append((open_counts.get(rv.id, 0), rv.id, rv.body))
    if not pool:
        return None
    _, rid, body = min(pool)
    conn.execute(
        update(cases).where(cases.c.id == case_id).values(reviewer=rid, reviewer_body=body)
    )
    return str(rid)


# --- filing --------------------------------------------------------------------------------


def _case_letter(reg: Registry, name: str, title: str, *sections: tuple[str, list[str]]) -> Any:
    letter = notices.Letter(title, f"Dear {name or 'subject'},", [])
    for head, lines in sections:
        letter.add(head, *lines)
    return letter


def file_objection(
    reg: Registry,
    subject_id: str,
    authority: str,
    case_number: str,
    grounds: str,
    statement: str,
    documents: list[str],
    filed_by: str,
) -> dict[str, Any]:
    """File an objection to one of the subject's records; SLA from ``deadlines``."""
    try:
        g = dp.Grounds(grounds)
    except ValueError:
        g = None
    if g is None or g not in dp.OBJECTION_GROUNDS:
        raise InvalidInput.one(
            "grounds", f"must be one of {sorted(x.value for x in dp.OBJECTION_GROUNDS)}", grounds
        )
    if not statement.strip():
        raise InvalidInput.one("statement", "say in a sentence or more what is wrong", statement)
    f, st, listing = own_record(reg, subject_id, authority, case_number)
    sid = f.subject_id.value
    today = reg.today()
    cat = reg.pack.categories.get(st.record.category)
    suspends = bool(
        cat is not None
        and listing is not None
        and listing.status.value == "pending"
        and not listing.suspended
        and dp.suspends_start(cat, listing, today)
    )
    due = dp.objection_due(reg.pack, today)
    now = reg.now()
    with reg.engine.begin() as conn:
        busy = conn.execute(
            select(cases.c.id).where(
                cases.c.record_authority == authority,
                cases.c.record_case_number == case_number,
                cases.c.kind.in_(["objection", "reconsideration"]),
                cases.c.decided_on.is_(None),
            )
        ).first()
        if busy is not None:
            raise Conflict(f"case {busy.id} on record {authority}/{case_number} is still open")
        cid = int(
            conn.execute(
                insert(cases).values(
                    subject_id=sid,
                    kind="objection",
                    record_authority=authority,
                    record_case_number=case_number,
                    grounds=g.value,
                    statement=statement.strip(),
                    documents=list(documents),
                    filed_by=filed_by,
                    filed_on=today,
                    filed_at=_naive(now),
                    due_on=due,
                    suspends_start=suspends,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        if suspends:
            append_record_event(
                conn,
                reg,
                (authority, case_number),
                EventType.SUSPENDED,
                today,
                fingerprint=f"case-{cid}-suspended",
                reason=f"objection case {cid}",
            )
            mark_changed(conn, reg, {sid}, "objection")
        reviewer = _auto_assign(conn, cid)
        name = f.subject.name if f.subject else ""
        hold = (
            "Filed within the publicity period: the restriction will not start before the "
            "objection is decided."
            if suspends
            else "The record stays in force while the objection is reviewed."
        )
        notices.queue(
            conn,
            reg,
            subject_id=sid,
            kind="objection_filed",
            letter=_case_letter(
                reg,
                name,
                f"Objection {cid} received: record {authority}/{case_number}",
                (
                    "Your objection",
                    [
                        f"Grounds: {g.value}",
                        f"Filed on {today.isoformat()}",
                        f"To be decided by {due.isoformat()}",
                        hold,
                    ],
                ),
            ),
            dedupe_key=f"case:{cid}:filed",
            record=(authority, case_number),
            case_id=cid,
        )
        audit.append(
            conn,
            now,
            filed_by,
            "case.filed",
            subject_id=sid,
            target=f"case:{cid}",
            details={
                "kind": "objection",
                "grounds": g.value,
                "suspends": suspends,
                "reviewer": reviewer,
            },
        )
    return get_case(reg, cid)


def file_reconsideration(
    reg: Registry, subject_id: str, objection_case_id: int, statement: str, filed_by: str
) -> dict[str, Any]:
    """Ask a higher body to reconsider a rejected objection, within the filing window."""
    sid = parse_subject_id(subject_id).value
    today = reg.today()
    now = reg.now()
    if not statement.strip():
        raise InvalidInput.one("statement", "say why the rejection is wrong", statement)
    with reg.engine.begin() as conn:
        p = conn.execute(select(cases).where(cases.c.id == objection_case_id)).first()
        if p is None or p.subject_id != sid:
            raise NotFound(f"case {objection_case_id} is not a case of subject {sid}")
        if p.kind != "objection" or p.outcome != "rejected":
            raise Conflict(f"case {p.id} is not a rejected objection; nothing to reconsider")
        last = dp.reconsideration_filing_ends(reg.pack, p.decided_on)
        if today > last:
            raise InvalidInput.one(
                "objection_case_id",
                f"reconsideration had to be filed by {last.isoformat()} "
                f"({reg.pack.reconsideration_filing_days} days after the rejection)",
                str(objection_case_id),
            )
        if conn.execute(select(cases.c.id).where(cases.c.parent_case_id == p.id)).first():
            raise Conflict(f"case {p.id} has already been taken to reconsideration")
        due = dp.reconsideration_due(reg.pack, today)
        cid = int(
            conn.execute(
                insert(cases).values(
                    subject_id=sid,
                    kind="reconsideration",
                    record_authority=p.record_authority,
                    record_case_number=p.record_case_number,
                    grounds=p.grounds,
                    statement=statement.strip(),
                    documents=[],
                    filed_by=filed_by,
                    filed_on=today,
                    filed_at=_naive(now),
                    due_on=due,
                    suspends_start=False,
                    parent_case_id=p.id,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        reviewer = _auto_assign(conn, cid)
        notices.queue(
            conn,
            reg,
            subject_id=sid,
            kind="reconsideration_filed",
            letter=_case_letter(
                reg,
                "",
                f"Reconsideration {cid} received (objection {p.id})",
                (
                    "Your request",
                    [
                        f"To be decided by {due.isoformat()}",
                        "The listing stays in force meanwhile.",
                    ],
                ),
            ),
            dedupe_key=f"case:{cid}:filed",
            record=(p.record_authority, p.record_case_number),
            case_id=cid,
        )
        audit.append(
            conn,
            now,
            filed_by,
            "case.filed",
            subject_id=sid,
            target=f"case:{cid}",
            details={"kind": "reconsideration", "parent": p.id, "reviewer": reviewer},
        )
    return get_case(reg, cid)


# --- assignment and decision ---------------------------------------------------------------


def assign(reg: Registry, case_id: int, reviewer_id: str, actor: str) -> dict[str, Any]:
    with reg.engine.begin() as conn:
        row = _open_case(conn, case_id)
        rv = _reviewer(conn, reviewer_id)
        why = dp.reviewer_conflict(rv, _facts(conn, row))
        if why:
            raise Forbidden(why)
        conn.execute(
            update(cases).where(cases.c.id == case_id).values(reviewer=rv.id, reviewer_body=rv.body)
        )
        audit.append(
            conn,
            reg.now(),
            actor,
            "case.assigned",
            subject_id=row.subject_id,
            target=f"case:{case_id}",
            details={"reviewer": rv.id},
        )
    return get_case(reg, case_id)


def _open_case(conn: Connection, case_id: int) -> Any:
    row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
    if row is None:
        raise NotFound(f"case {case_id} does not exist")
    if row.decided_on is not None:
        raise Conflict(f"case {case_id} was decided on {row.decided_on.isoformat()}")
    if row.kind == "repair":
        raise Conflict(f"case {case_id} is a repair application, decided when filed")
    return row


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
        pre = _open_case(conn, case_id)
    current: Record | None = None
    if out is dp.Outcome.UPHELD:
        # Read before the writing transaction: on SQLite a second writer would wait for us.
        _, st, _ = own_record(reg, pre.subject_id, pre.record_authority, pre.record_case_number)
        current = st.record
    with reg.engine.begin() as conn:
        row = _open_case(conn, case_id)
        rv = _reviewer(conn, reviewer_id)
        facts = _facts(conn, row)
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
                decided_at=_naive(now),
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
        notices.queue(
            conn,
            reg,
            subject_id=row.subject_id,
            kind=f"{row.kind}_decided",
            letter=_case_letter(
                reg,
                stored.subject_name,
                f"Decision on your {row.kind} {case_id}: {out.value}",
                ("The decision", lines),
            ),
            dedupe_key=f"case:{case_id}:decided",
            record=ref,
            case_id=case_id,
        )
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


# --- reading -------------------------------------------------------------------------------


def case_dict(row: Any, today: dt.date) -> dict[str, Any]:
    d = {k: row._mapping[k] for k in row._mapping.keys()}
    for k, v in list(d.items()):
        if isinstance(v, dt.date | dt.datetime):
            d[k] = v.isoformat()
    d["record"] = f"{row.record_authority}/{row.record_case_number}"
    d["state"] = row.outcome or ("assigned" if row.reviewer else "filed")
    d["overdue"] = dp.is_overdue(row.due_on, row.decided_on, today)
    return d


def get_case(reg: Registry, case_id: int) -> dict[str, Any]:
    with reg.engine.connect() as conn:
        row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
    if row is None:
        raise NotFound(f"case {case_id} does not exist")
    return case_dict(row, reg.today())


def list_cases(
    reg: Registry,
    *,
    open_only: bool = False,
    overdue_only: bool = False,
    subject_id: str | None = None,
    reviewer: str | None = None,
) -> list[dict[str, Any]]:
    """The operator's queue: overdue cases first, then by due date."""
    q = select(cases)
    if open_only or overdue_only:
        q = q.where(cases.c.decided_on.is_(None))
    if overdue_only:
        q = q.where(cases.c.due_on < reg.today())
    if subject_id:
        q = q.where(cases.c.subject_id == subject_id)
    if reviewer:
        q = q.where(cases.c.reviewer == reviewer)
    with reg.engine.connect() as conn:
        rows = conn.execute(q.order_by(cases.c.due_on, cases.c.id)).all()
    today = reg.today()
    out = [case_dict(r, today) for r in rows]
    out.sort(key=lambda d: (not d["overdue"], d["due_on"], d["id"]))
    return out
