"""Operator alerts: what the screening servers flagged (e.g. a party's name refusals spiking).

Rows are written by :func:`socialcredit.screening.guard.alert_writer`; the operator reads them
with ``GET /v1/alerts`` or ``socialcredit alerts``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_screening import operator_alerts


def list_alerts(
    reg: Registry, since: dt.datetime | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest alerts first."""
    c = operator_alerts.c
    q = select(operator_alerts).order_by(c.id.desc()).limit(max(1, min(limit, 1000)))
    if since is not None:
        if since.tzinfo is not None:
            since = since.astimezone(dt.UTC).replace(tzinfo=None)
        q = q.where(c.at >= since)
    with reg.engine.connect() as conn:
        return [
            {
                "id": r.id,
                "at": r.at.isoformat() + "Z",
                "kind": r.kind,
                "relying_party": r.relying_party,
                "detail": r.detail,
            }
            for r in conn.execute(q)
        ]
