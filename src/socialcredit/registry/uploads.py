"""Uploads from the clerk's page: ingested in a background thread, watched by polling.

The state lives in the ``uploads`` table, not in the server's memory, so the page that polls
may land on any worker (``serve --workers N``) and still finds it after a restart. A done
upload points at its batch, whose per-line problems are kept with it (``ingest/problems.py``);
a refused or unreadable file writes no batch, so its problems are kept on the upload row. An
upload still "running" whose row has not moved for :data:`STALE` was cut off (the server
stopped): it is shown as failed, nothing written (the batch is one transaction).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from socialcredit.errors import Forbidden, InvalidInput, NotFound
from socialcredit.registry.batches import check_scope, submit
from socialcredit.registry.ingest import detect_format
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_batches import uploads

STALE = dt.timedelta(minutes=10)
# Lines written so far, of the uploads this process is ingesting. Not written to the row while
# the batch's transaction is open: on SQLite that second writer would wait for the first.
# Another worker's page shows the state without the count.
_PROGRESS: dict[str, int] = {}
KEPT_PROBLEMS = 1000  # of a whole-file refusal (unknown columns and the like: few)


@dataclass(frozen=True)
class Upload:
    """What the clerk's page shows of an upload while it runs and after."""

    id: str
    filename: str
    state: str  # running | done | refused | failed
    total: int | None
    done: int
    batch_id: int | None
    already_ingested: bool
    error: str | None
    problems: list[dict[str, Any]]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def start(reg: Registry, *, user_id: int, authority: str, data: bytes, filename: str) -> str:
    """Record the upload and ingest it in a thread; returns its id for :func:`get`."""
    uid = uuid.uuid4().hex
    now = _now()
    with reg.engine.begin() as conn:
        conn.execute(
            insert(uploads).values(
                id=uid,
                user_id=user_id,
                authority=authority,
                filename=Path(filename).name[:200],
                state="running",
                done=0,
                already_ingested=0,
                started_at=now,
                updated_at=now,
            )
        )

    def set_(**values: Any) -> None:
        with reg.engine.begin() as conn:
            q = update(uploads).where(uploads.c.id == uid)
            conn.execute(q.values(updated_at=_now(), **values))

    def run() -> None:
        try:
            kind = detect_format(Path(filename), None)
            set_(total=check_scope(data, kind, authority))
            report = submit(
                reg,
                authority=authority,
                data=data,
                filename=filename,
                progress=lambda n: _PROGRESS.__setitem__(uid, n),
            )
            set_(
                state="done",
                done=report.lines,
                batch_id=report.batch_id,
                already_ingested=int(report.already_ingested),
            )
        except Forbidden as e:
            set_(state="refused", error=e.message)
        except InvalidInput as e:
            problems = [
                {"line": p.line, "field": p.field, "value": p.value, "reason": p.reason}
                for p in e.problems[:KEPT_PROBLEMS]
            ]
            set_(state="failed", error=e.message, problems=problems)
        except Exception as e:  # shown to the clerk; the server log has the trace
            set_(state="failed", error=str(e)[:1000])
        finally:
            _PROGRESS.pop(uid, None)

    threading.Thread(target=run, name=f"upload-{uid[:8]}", daemon=True).start()
    return uid


def get(reg: Registry, upload_id: str, *, user_id: int) -> Upload:
    """One of the user's uploads (404 for anyone else's: its existence is not told)."""
    with reg.engine.connect() as conn:
        row = conn.execute(
            select(uploads).where(uploads.c.id == upload_id, uploads.c.user_id == user_id)
        ).first()
    if row is None:
        raise NotFound("no such upload")
    state, error = row.state, row.error
    if state == "running" and _now() - row.updated_at > STALE:
        state, error = "failed", "the server stopped while ingesting; nothing was written"
    return Upload(
        row.id,
        row.filename,
        state,
        row.total,
        _PROGRESS.get(row.id, row.done),
        row.batch_id,
        bool(row.already_ingested),
        error,
        list(row.problems or []),
    )
