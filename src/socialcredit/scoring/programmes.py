"""Which scoring programmes are in force: the scoring document as written (loaded once per rule
pack), the operator's per-jurisdiction switches (off deletes every score the programme produced,
in the same transaction) and the read/write plumbing the other scoring modules share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from socialcredit.domain.scoring import Programme
from socialcredit.errors import InvalidInput
from socialcredit.integrity import log_rows
from socialcredit.rulepacks.scoring_config import (
    ALL,
    ScoringConfig,
    scoring_document,
    with_switches,
)
from socialcredit.runtime.registry import Registry
from socialcredit.store.tables_scoring import (
    score_history,
    scoring_switches,
)

EPOCH = dt.date(1970, 1, 1)


# --------------------------------------------------------------------------- plumbing


@contextmanager
def _read(reg: Registry) -> Iterator[Connection]:
    with reg.engine.connect() as conn:
        conn.execution_options(socialcredit_readonly=True)
        with conn.begin():
            yield conn


@contextmanager
def _write(reg: Registry) -> Iterator[Connection]:
    with reg.engine.begin() as conn:
        yield conn


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def document(reg: Registry) -> ScoringConfig:
    """The scoring document as written (switches not applied), loaded once per rule pack."""
    return scoring_document(reg.pack)


def switches(conn: Connection) -> dict[str, bool]:
    rows = conn.execute(
        select(scoring_switches.c.programme, scoring_switches.c.enabled).order_by(
            scoring_switches.c.id
        )
    )
    return {p: bool(on) for p, on in rows}


def config(reg: Registry, conn: Connection | None = None) -> ScoringConfig:
    """The programmes in force: the document with the operator's switches applied."""
    if conn is None:
        with _read(reg) as c:
            return with_switches(document(reg), switches(c))
    return with_switches(document(reg), switches(conn))


def enabled(cfg: ScoringConfig) -> list[Programme]:
    return [p for p in cfg.pack.programmes if cfg.pack.enabled and p.enabled]


def _purge(conn: Connection, cfg: ScoringConfig) -> int:
    keep = [p.id for p in enabled(cfg)]
    res = conn.execute(delete(score_history).where(score_history.c.programme.not_in(keep)))
    return int(res.rowcount or 0)


def purge_disabled(reg: Registry) -> int:
    """Delete every score of a programme not in force; return how many rows went."""
    with _write(reg) as conn:
        return _purge(conn, config(reg, conn))


# --------------------------------------------------------------------------- switches


def set_switch(reg: Registry, programme: str, on: bool, reason: str) -> dict[str, Any]:
    """Switch one programme (or ``*``, all) on or off, with a reason kept on record.

    Off removes every score the programme produced, in the same transaction. On can only
    restore what the scoring document itself enables (and scores come back at the next
    recomputation, not from the deleted rows).
    """
    doc = document(reg)
    known = {p.id for p in doc.pack.programmes}
    if programme != ALL and programme not in known:
        raise InvalidInput.one(
            "programme", f"is not a scoring programme ({', '.join(sorted(known))} or *)", programme
        )
    if not reason.strip():
        raise InvalidInput.one("reason", "is required: say why (e.g. the law that bans it)")
    with _write(reg) as conn:
        res = conn.execute(
            insert(scoring_switches).values(
                programme=programme, enabled=on, at=_now(), reason=reason.strip()
            )
        )
        assert res.inserted_primary_key is not None
        log_rows(conn, "scoring_switch", [int(res.inserted_primary_key[0])])
        cfg = config(reg, conn)
        removed = _purge(conn, cfg)
    return {
        "programme": programme,
        "switched": "on" if on else "off",
        "reason": reason.strip(),
        "scores_removed": removed,
        "in_force": [p.id for p in enabled(cfg)],
    }


def programmes(reg: Registry) -> list[dict[str, Any]]:
    """Every programme of the document and whether it is in force."""
    cfg = config(reg)
    live = {p.id for p in enabled(cfg)}
    doc = document(reg).pack
    return [
        {
            "id": p.id,
            "name": p.name,
            "region_prefix": p.region_prefix,
            "region_name": p.region_name,
            "version": p.version,
            "in_force": p.id in live,
            "enabled_in_document": doc.enabled and p.enabled,
            "grades": [g.name for g in p.grades],
            "illustrative": p.illustrative,
            "note": p.note,
        }
        for p in doc.programmes
    ]
