"""The set-wise event reader (registry/feed.py) equals the store's per-subject reader, on
SQLite and PostgreSQL, for the ids given as one parameter a chunk (a JSON array, an array)
and as IN lists: own records, enterprise records naming a legal representative, later events
(fulfilled, withdrawn, corrected), ids the store has never seen, chunk boundaries."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from socialcredit.domain.identity import ric_check_char
from socialcredit.registry import feed
from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.registry.feed import events_by_subject
from socialcredit.registry.ingest import ingest_file
from socialcredit.runtime.registry import open_registry
from socialcredit.settings import Settings
from socialcredit.store.sql import SqlRecords

FIRM = "91110000600037341L"


def person(i: int) -> str:
    first = "110105" + (dt.date(1970, 1, 1) + dt.timedelta(days=97 * i)).strftime("%Y%m%d")
    first += f"{i:03d}"
    return first + ric_check_char(first)


def lines(today: dt.date) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    decided = (today - dt.timedelta(days=40)).isoformat()
    first: list[dict[str, object]] = []
    for i in range(7):
        first.append(
            {
                "authority": "SPC-BJ-HD",
                "case_number": f"R-{i}",
                "category": "court.defaulter.refuses",
                "subject_id": person(i),
                "subject_name": f"名{i}",
                "decision_date": decided,
                "legal_basis": "basis",
            }
        )
    first.append(
        {
            "authority": "SPC-BJ-HD",
            "case_number": "F-1",
            "category": "court.defaulter.refuses",
            "subject_id": FIRM,
            "subject_name": "公司",
            "decision_date": decided,
            "legal_basis": "basis",
            "legal_representative_id": person(0),
            "legal_representative_name": "名0",
        }
    )
    fixed = dict(first[2], event="corrected", event_date=today.isoformat())
    fixed["decision_date"] = (today - dt.timedelta(days=41)).isoformat()
    later: list[dict[str, object]] = [
        {"event": "fulfilled", "authority": "SPC-BJ-HD", "case_number": "R-1",
         "event_date": today.isoformat()},
        {"event": "withdrawn", "authority": "SPC-BJ-HD", "case_number": "F-1",
         "event_date": today.isoformat(), "reason": "other"},
        fixed,
    ]  # fmt: skip
    return first, later


@pytest.mark.parametrize("big_chunk", [2, 5000])
def test_the_set_wise_reader_equals_the_stores(
    db_url: str, tmp_path: Path, big_chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed, "BIG_CHUNK", big_chunk)
    reg = open_registry(Settings(database_url=db_url), migrate_schema=True)
    try:
        with reg.uow() as uow:
            seed_reference_authorities(uow, reg.pack)
            uow.commit()
        for name, batch in zip(("a", "b"), lines(reg.today()), strict=True):
            f = tmp_path / f"{name}.jsonl"
            f.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in batch))
            report = ingest_file(reg.uow(), f, pack=reg.pack, today=reg.today())
            assert report.accepted == len(batch), report.rejected
        everyone = [person(i) for i in range(7)] + [FIRM, person(50)]  # the last: no records
        with reg.engine.connect() as conn:
            store = {s: SqlRecords(conn).events_for_subject(s) for s in everyone}
            assert len(store[person(0)]) == 3  # its own listing, the firm's and its withdrawal
            assert [e.type.value for e in store[person(2)]] == ["listed", "corrected"]
            for wanted in (everyone, everyone[:1], everyone[3:], [person(50)]):
                got = events_by_subject(conn, wanted)
                assert got == {s: store[s] for s in wanted if store[s]}
            monkeypatch.setattr(feed.sqlite3, "sqlite_version_info", (3, 0, 0))  # IN lists
            assert events_by_subject(conn, everyone) == {s: e for s, e in store.items() if e}
    finally:
        reg.engine.dispose()
