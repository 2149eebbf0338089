"""The watcher keeps a running server's index fresh on both backends (on PostgreSQL woken by
the NOTIFY the migration's triggers send), and the log writer flushes on shutdown."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

from sqlalchemy import func, select

from socialcredit.domain.identity import ric_check_char
from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.registry.ingest import ingest_file
from socialcredit.runtime.registry import open_registry
from socialcredit.screening.api import Request, ScreeningRuntime
from socialcredit.screening.parties import add_party
from socialcredit.settings import Settings
from socialcredit.store.tables_screening import screening_log

FIRST = "11010519800101123"
SUBJECT = FIRST + ric_check_char(FIRST)


def test_a_change_reaches_the_running_index_and_the_log_is_flushed(
    db_url: str, tmp_path: Path
) -> None:
    reg = open_registry(Settings(database_url=db_url), migrate_schema=True)
    with reg.uow() as uow:
        seed_reference_authorities(uow, reg.pack)
        uow.commit()
    add_party(reg, "AIR", "air", ["flight"])
    rt = ScreeningRuntime.open(reg, snapshot=tmp_path / "snap")
    rt.start()
    try:
        who = next(iter(rt.screener.keys.values()))
        line = {
            "authority": "SPC-BJ-HD",
            "case_number": "W-1",
            "category": "court.defaulter.refuses",
            "subject_id": SUBJECT,
            "subject_name": "王五",
            "decision_date": (reg.today() - dt.timedelta(days=5)).isoformat(),
            "legal_basis": "basis",
        }
        f = tmp_path / "b.jsonl"
        f.write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
        assert ingest_file(reg.uow(), f, pack=reg.pack, today=reg.today()).accepted == 1
        req = Request(SUBJECT, "王五", "flight", "test")
        deadline = time.monotonic() + 30  # "eventually": generous, not a timing assertion
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = rt.screen(who, req)["decision"]
            except Exception:  # the name is not known until the change arrives
                answer = None
            if answer == "deny":
                break
            time.sleep(0.05)
        assert answer == "deny"
    finally:
        rt.stop()
    with reg.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(screening_log)).scalar_one() >= 1
    assert (tmp_path / "snap" / "state.json").is_file()
    reg.engine.dispose()
