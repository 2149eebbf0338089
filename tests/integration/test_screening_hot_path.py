"""The screening hot path's shortcuts keep the behaviour they replace.

- screening ids: RFC 9562 version 7 UUIDs, unique, ordered by their millisecond prefix;
- the log writer's raw ``executemany`` stores rows exactly as SQLAlchemy's INSERT did
  (SQLite and PostgreSQL), and keeps them queued when a write fails;
- the check-character shortcut in ``fast_id`` agrees with the full GB 11643 parse;
- the body's fast check accepts and refuses exactly what the pydantic model does;
- the orjson response is byte for byte Starlette's JSONResponse;
- ``serve`` runs uvicorn on uvloop + httptools, with a short GIL switch interval.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import uuid
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import Engine, insert, select
from starlette.responses import JSONResponse
from typer.testing import CliRunner

from socialcredit.domain.identity import ric_check_char
from socialcredit.runtime import server
from socialcredit.screening.api import ScreeningIds
from socialcredit.screening.ids import fast_id
from socialcredit.screening.routes import FastJSONResponse, ScreeningIn, parse_screening
from socialcredit.screening.runtime import SCREENING_COLUMNS, LogWriter
from socialcredit.store.tables_screening import screening_log, screening_refusals


def test_screening_ids_are_unique_time_ordered_version_7_uuids() -> None:
    new_id = ScreeningIds()
    ids = [new_id() for _ in range(3 * ScreeningIds.POOL // 10)]  # past a pool refill
    assert len(set(ids)) == len(ids)
    for s in ids:
        u = uuid.UUID(s)
        assert str(u) == s and u.version == 7 and u.variant == uuid.RFC_4122
    ms = [int(s.replace("-", "")[:12], 16) for s in ids]
    assert ms == sorted(ms)
    now = dt.datetime.now(dt.UTC).timestamp() * 1000
    assert abs(ms[-1] - now) < 60_000


def _row(n: int, at: dt.datetime) -> tuple[Any, ...]:
    return (f"id-{n}", at, "AIR", "110108198005121230", "flight", "ticket sale", None, "allow",
            None, "2026.1")  # fmt: skip


def test_log_writer_stores_rows_as_sqlalchemy_would(engine: Engine) -> None:
    at = dt.datetime(2026, 5, 1, 8, 30, 0, 123456)
    with engine.begin() as conn:  # the reference: SQLAlchemy's own INSERT
        conn.execute(
            insert(screening_log), [dict(zip(SCREENING_COLUMNS, _row(0, at), strict=True))]
        )
    w = LogWriter(engine)
    w.screening(_row(1, at))
    w.screening(_row(2, at.replace(microsecond=0)))
    w.refusal((at, "AIR", "abc123", "rail", "ticket sale", "T-1", "sector_not_served", None))
    assert w.flush() == 3 and w.written == 3
    with engine.connect() as conn:
        rows = conn.execute(select(screening_log).order_by(screening_log.c.screening_id)).all()
        refused = conn.execute(select(screening_refusals)).one()
        if engine.dialect.name == "sqlite":  # the stored text itself
            raw = conn.exec_driver_sql("SELECT at FROM screening_log ORDER BY screening_id")
            texts = [r[0] for r in raw]
            assert texts[0] == texts[1] == "2026-05-01 08:30:00.123456"
    assert [r.screening_id for r in rows] == ["id-0", "id-1", "id-2"]
    assert rows[0].at == rows[1].at == at and rows[2].at == at.replace(microsecond=0)
    assert rows[1]._mapping["reference"] is None and rows[1].decision == "allow"
    assert (refused.key_prefix, refused.reason, refused.at) == ("abc123", "sector_not_served", at)


def test_log_writer_stores_unix_time_as_the_same_datetime(engine: Engine) -> None:
    at = dt.datetime(2026, 5, 1, 8, 30, 0, 123456)
    w = LogWriter(engine)
    w.screening(_row(1, at.replace(tzinfo=dt.UTC).timestamp()))  # type: ignore[arg-type]
    w.refusal((at.replace(tzinfo=dt.UTC).timestamp(), "AIR", "k", "rail", "p", None, "x", None))
    assert w.flush() == 2
    with engine.connect() as conn:
        assert conn.execute(select(screening_log.c.at)).scalar_one() == at
        assert conn.execute(select(screening_refusals.c.at)).scalar_one() == at


def test_log_writer_keeps_rows_when_a_write_fails(engine: Engine) -> None:
    w = LogWriter(engine)
    at = dt.datetime(2026, 5, 1, 8, 30)
    w.screening(_row(1, at))
    w.screening(_row(1, at))  # the same screening id twice: the unique index refuses
    with pytest.raises(Exception):  # noqa: B017 - the driver's IntegrityError
        w.flush()
    assert w.written == 0 and len(w._screenings) == 2


def test_fast_id_accepts_exactly_the_right_check_characters() -> None:
    # (the full parse runs only when the name check fails: see Screener.identify)
    rng = random.Random(11643)
    for _ in range(3000):
        first = "".join(rng.choice("0123456789") for _ in range(17))
        good = first + ric_check_char(first)
        for raw in (good, first + rng.choice("0123456789X"), good.lower(), f" {good} "):
            got = fast_id(raw)
            if raw.strip().upper()[-1] == ric_check_char(first):
                assert got is not None
                assert (got.value, got.key, got.code) == (raw.strip().upper(), int(first), None)
            else:  # not a resident ID; it may still be a credit code (digits are in USCC)
                assert got is None or got.code == raw.strip().upper()
    arabic = "".join(chr(0x660 + int(c)) for c in "11010819800512123")  # int() reads these
    assert fast_id(arabic + ric_check_char("11010819800512123")) is not None


def test_the_fast_response_is_starlettes_json_byte_for_byte() -> None:
    body = {"decision": "deny", "explanation": "Denied in flight (法院: 失信) until 2026-05-01",
            "until": None, "n": 3, "ok": True}  # fmt: skip
    assert FastJSONResponse(body).body == JSONResponse(body).body
    assert FastJSONResponse(body).headers["content-type"] == "application/json"


def test_server_options_take_the_fast_stack_when_installed() -> None:
    assert server.resolve() == ("uvloop", "httptools")  # both are dependencies
    assert server.resolve("asyncio", "h11") == ("asyncio", "h11")
    opts = server.uvicorn_options()
    assert opts["loop"] == "uvloop" and opts["http"] == "httptools"
    assert opts["access_log"] is False
    with pytest.raises(ValueError, match="unknown event loop"):
        server.resolve("trio")
    with pytest.raises(ValueError, match="unknown HTTP"):
        server.resolve(http="h2")


def test_serve_runs_uvicorn_on_the_fast_stack(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import uvicorn

    from socialcredit import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setenv("SOCIALCREDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("SOCIALCREDIT_OPERATOR_TOKEN", "t")
    before = sys.getswitchinterval()
    try:
        r = CliRunner().invoke(cli.app, ["serve", "--port", "8123"])
        assert r.exit_code == 0, r.output
        assert "uvloop + httptools" in r.output
        assert seen["loop"] == "uvloop" and seen["http"] == "httptools"
        assert seen["port"] == 8123 and seen["access_log"] is False
        assert sys.getswitchinterval() == pytest.approx(server.SWITCH_INTERVAL_S)
        r = CliRunner().invoke(cli.app, ["serve", "--loop", "asyncio", "--http", "h11"])
        assert r.exit_code == 0 and (seen["loop"], seen["http"]) == ("asyncio", "h11")
        r = CliRunner().invoke(cli.app, ["serve", "--loop", "trio"])
        assert r.exit_code == 2 and "unknown event loop" in r.output
    finally:
        sys.setswitchinterval(before)


BODIES = [
    b'{"subject_id": "110108198005121230", "name": "\xe7\x8e\x8b\xe4\xba\x94", "sector": "flight",'
    b' "purpose": "ticket sale", "reference": "T-1"}',
    b'{"subject_id": "110108198005121230", "name": "x", "sector": "flight", "purpose": "p"}',
    b'{"subject_id": "1", "name": "x", "sector": "flight", "purpose": "p", "extra": [1, 2]}',
    b'{"subject_id": "1", "name": "x", "sector": "flight", "purpose": "p", "reference": null}',
    b'{"subject_id": 110108198005121230, "name": "x", "sector": "flight", "purpose": "p"}',
    b'{"subject_id": "1", "name": "", "sector": "flight", "purpose": "p"}',
    b'{"subject_id": "1", "name": "x", "sector": "flight"}',
    b'{"subject_id": "1", "name": "x", "sector": "flight", "purpose": "p", "reference": 5}',
    b'{"subject_id": "' + b"1" * 41 + b'", "name": "x", "sector": "flight", "purpose": "p"}',
    b'{"subject_id": "1", "name": "' + "名".encode() * 200 + b'", "sector": "s", "purpose": "p"}',
    b'{"subject_id": "1", "name": "' + "名".encode() * 201 + b'", "sector": "s", "purpose": "p"}',
    b'{"subject_id": "1", "name": "x", "sector": "' + b"s" * 65 + b'", "purpose": "p"}',
    b'["subject_id", "1"]',
    b"not json",
    b"",
    b'{"subject_id": "1", "name": "x", "sector": "flight", "purpose": "p", "reference": "'
    + b"r" * 201
    + b'"}',
]


@pytest.mark.parametrize("raw", BODIES)
def test_parse_screening_accepts_and_refuses_exactly_what_the_model_does(raw: bytes) -> None:
    try:
        m = ScreeningIn.model_validate_json(raw)
    except ValidationError as e:
        with pytest.raises(RequestValidationError) as got:
            parse_screening(raw)
        assert got.value.errors() == e.errors()
        return
    assert parse_screening(raw) == (m.subject_id, m.name, m.sector, m.purpose, m.reference)
