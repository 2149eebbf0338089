"""An authority's clerk files over HTTP: a batch scoped to their authority, its history, one
event on one record.

Every path goes through the ingest service (:func:`ingest_bytes`), so the per-line errors,
the one transaction per batch and the idempotence by content hash are the CLI's own. What
is added here is the scope: every line's ``authority`` is read and compared with the clerk's
*before* the ingest service opens its transaction, so a CAAC clerk's file naming SPC on any
line is refused whole (403) with nothing written. A batch filed this way is named
``<authority>/<file name>`` so the authority's history can be found again (the batches table
has no authority column; a file may be wholly rejected and leave no record to join on).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
from sqlalchemy import func, or_, select

from socialcredit.errors import Forbidden, InvalidInput, NotFound, Problem
from socialcredit.registry.ingest import (
    IngestReport,
    detect_format,
    ingest_bytes,
    problems,
    read_records,
)
from socialcredit.runtime.registry import Registry
from socialcredit.store import tables as t

MAX_BYTES = 64 * 1024 * 1024  # an upload over HTTP; larger files go through the CLI
EVENTS = ("fulfilled", "withdrawn", "corrected")


def _source(authority: str, name: str) -> str:
    return f"{authority}/{Path(name).name or 'batch'}"


def check_scope(data: bytes, fmt: str, authority: str) -> int:
    """Refuse (403) a file any of whose lines names another authority; return its lines.

    Lines without an authority are left to the ingest service, which rejects them line by line.
    """
    parsed = read_records(data, fmt)
    if "authority" in parsed.table.column_names:
        col = parsed.table.column("authority")
        others = pc.unique(pc.drop_null(col)).to_pylist()
        foreign = sorted({str(a).strip() for a in others} - {authority, ""})
        if foreign:
            raise Forbidden(
                f"you file for {authority} only; the file names {', '.join(foreign[:5])}: "
                "nothing was written"
            )
    return parsed.total_lines


def submit(
    reg: Registry,
    *,
    authority: str,
    data: bytes,
    filename: str,
    fmt: str | None = None,
    progress: Any = None,
) -> IngestReport:
    """Ingest ``data`` as one batch for ``authority``; 403 if any line names another."""
    if len(data) > MAX_BYTES:
        raise InvalidInput.one("file", f"larger than {MAX_BYTES // 1024 // 1024} MB", filename)
    if not data.strip():
        raise InvalidInput.one("file", "is empty", filename)
    kind = detect_format(Path(filename), fmt)
    check_scope(data, kind, authority)
    return ingest_bytes(
        reg.uow(),
        data,
        kind,
        source=_source(authority, filename),
        pack=reg.pack,
        today=reg.today(),
        progress=progress,
    )


def record_event(
    reg: Registry,
    *,
    authority: str,
    case_number: str,
    event: str,
    event_date: dt.date,
    reason: str | None = None,
    correction: dict[str, str] | None = None,
) -> IngestReport:
    """Fulfilment, withdrawal or correction of one record: a one-line batch of the authority."""
    if event not in EVENTS:
        raise InvalidInput.one("event", f"must be one of {', '.join(EVENTS)}", event)
    line: dict[str, Any] = {
        "event": event,
        "authority": authority,
        "case_number": case_number.strip(),
        "event_date": event_date.isoformat(),
    }
    if event == "withdrawn":
        line["reason"] = reason or ""
    if event == "corrected":
        with reg.engine.connect() as conn:
            row = conn.execute(
                select(t.records).where(
                    t.records.c.authority == authority,
                    t.records.c.case_number == case_number.strip(),
                )
            ).first()
        if row is None:
            raise NotFound(f"record {authority}/{case_number} does not exist")
        base = {
            "category": row.category,
            "subject_id": row.subject_id,
            "subject_name": row.subject_name,
            "decision_date": row.decision_date.isoformat(),
            "legal_basis": row.legal_basis,
        }
        base.update({k: v for k, v in (correction or {}).items() if v not in (None, "")})
        line.update(base)
    data = (json.dumps(line, ensure_ascii=False) + "\n").encode()
    return submit(reg, authority=authority, data=data, filename=f"{event}.jsonl")


def report_dict(r: IngestReport) -> dict[str, Any]:
    def p(x: Problem) -> dict[str, Any]:
        return {"line": x.line, "field": x.field, "value": x.value, "reason": x.reason}

    return {
        "batch_id": r.batch_id,
        "source": r.source,
        "sha256": r.sha256,
        "lines": r.lines,
        "accepted": r.accepted,
        "duplicates": r.duplicates,
        "already_ingested": r.already_ingested,
        "rejected": [p(x) for x in r.rejected],
        "warnings": [p(x) for x in r.warnings],
    }


def _batch_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "source": row.source_name,
        "sha256": row.sha256,
        "received_at": row.received_at.isoformat(),
        "lines": row.lines,
        "accepted": row.accepted,
        "duplicates": row.duplicates,
        "rejected": row.rejected,
    }


def _scoped(q: Any, authority: str | None) -> Any:
    if authority is None:
        return q
    b = t.batches.c
    return q.where(
        or_(
            b.source_name.startswith(f"{authority}/", autoescape=True),
            b.id.in_(select(t.records.c.batch_id).where(t.records.c.authority == authority)),
        )
    )


def list_batches(reg: Registry, *, authority: str | None, limit: int = 100) -> list[dict[str, Any]]:
    """Batches, newest first; of one authority when ``authority`` is given."""
    q = _scoped(select(t.batches), authority).order_by(t.batches.c.id.desc()).limit(limit)
    with reg.engine.connect() as conn:
        return [_batch_dict(r) for r in conn.execute(q)]


def get_batch(reg: Registry, batch_id: int, *, authority: str | None) -> dict[str, Any]:
    """One batch with its kept per-line problems (404 also when it is another authority's:
    its existence is not told). ``authority=None``: any batch (operators, the CLI)."""
    q = _scoped(select(t.batches).where(t.batches.c.id == batch_id), authority)
    with reg.engine.connect() as conn:
        row = conn.execute(q).first()
        if row is None:
            raise NotFound(f"batch {batch_id} does not exist")
        d = _batch_dict(row)
        d["records"] = conn.execute(
            select(func.count()).where(t.records.c.batch_id == batch_id)
        ).scalar_one()
        d["events"] = conn.execute(
            select(func.count()).where(t.record_events.c.batch_id == batch_id)
        ).scalar_one()
        # A batch the authority did not file over HTTP (seen through its records) may hold
        # other authorities' lines: their problems are not the clerk's to read.
        own = authority is None or row.source_name.startswith(f"{authority}/")
        kept = problems.read(conn, batch_id) if own else problems.Kept(None, None, [], [])
        d["problems"] = kept.to_dict()
    return d
