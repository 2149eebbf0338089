"""A large delta (memoised by shape, IDs parsed as arrays, names checked as arrays) gives the
index the engine gives subject by subject, whether it arrives by refresh or by a build.

One batch of a few hundred lines of a few shapes (so the memo hits and the array paths run):
persons born on many days, an enterprise binding its legal representative, listings fulfilled
or withdrawn later. Every subject's answer in every sector, today and on later days, is
compared with an index compiled from ``assess`` per subject.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from socialcredit.domain.identity import parse_subject_id, ric_check_char
from socialcredit.domain.restrictions import assess
from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.registry.ingest import ingest_file
from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.screening import Schema, ScreeningIndex, entry_for
from socialcredit.screening.benefits import benefit_entry, benefit_schema
from socialcredit.screening.bulk import PARSE_BULK_MIN
from socialcredit.screening.service import Screener
from socialcredit.settings import Settings
from socialcredit.store.sql import SqlRecords

TODAY = dt.date.today()
FIRM = "91110000600037341L"
N = PARSE_BULK_MIN + 144


def person(i: int) -> str:
    born = TODAY - dt.timedelta(days=19 * 365 + 37 * i)  # ingest refuses minors
    first = "110105" + born.strftime("%Y%m%d") + f"{i % 1000:03d}"
    return first + ric_check_char(first)


def batch() -> tuple[list[str], list[dict[str, object]], list[dict[str, object]]]:
    people = [person(i) for i in range(N)]
    cats = ["court.defaulter.refuses", "air.false_documents", "rail.fare_evasion"]
    lines: list[dict[str, object]] = []
    later: list[dict[str, object]] = []
    for i, sid in enumerate(people):
        decided = TODAY - dt.timedelta(days=(0, 30, 400)[i % 3])
        line = {
            "authority": ("SPC-BJ-HD", "CAAC", "CR")[i % 3],
            "case_number": f"L-{i}",
            "category": cats[i % 3],
            "subject_id": sid,
            "subject_name": f"名{i}",
            "decision_date": decided.isoformat(),
            "legal_basis": "basis",
        }
        lines.append(line)
        if i % 5 == 0:
            kind = "fulfilled" if i % 10 == 0 else "withdrawn"
            ev = {
                "event": kind,
                "authority": line["authority"],
                "case_number": line["case_number"],
                "event_date": TODAY.isoformat(),
            }
            if kind == "withdrawn":
                ev["reason"] = "other"
            later.append(ev)
    lines.append(
        {
            "authority": "SPC-BJ-HD",
            "case_number": "F-1",
            "category": "court.defaulter.refuses",
            "subject_id": FIRM,
            "subject_name": "公司",
            "decision_date": TODAY.isoformat(),
            "legal_basis": "basis",
            "legal_representative_id": people[-1],
            "legal_representative_name": f"名{N - 1}",
        }
    )
    return [*people, FIRM], lines, later


@pytest.fixture()
def reg() -> Iterator[Registry]:
    d = Path(tempfile.mkdtemp(prefix="screening-large-"))
    r = open_registry(Settings(database_url=f"sqlite:///{d / 'r.db'}"), migrate_schema=True)
    with r.uow() as uow:
        seed_reference_authorities(uow, r.pack)
        uow.commit()
    yield r
    r.engine.dispose()
    shutil.rmtree(d, ignore_errors=True)


def ingest(reg: Registry, lines: list[dict[str, object]], name: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / name
        f.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
        ingest_file(reg.uow(), f, pack=reg.pack, today=TODAY)


def reference(reg: Registry, subjects: list[str]) -> tuple[ScreeningIndex, ScreeningIndex]:
    """The deny and benefit indexes compiled from the engine, one subject at a time."""
    schema, bschema = Schema.from_pack(reg.pack), benefit_schema(reg.pack)
    deny, ben = [], []
    with reg.engine.connect() as conn:
        for s in subjects:
            sid = parse_subject_id(s)
            a = assess(sid, SqlRecords(conn).events_for_subject(s), reg.pack, TODAY, reg.calendar)
            if (d := entry_for(a, schema, sid)) is not None:
                deny.append(d)
            if (b := benefit_entry(a, bschema, sid)) is not None:
                ben.append(b)
    return ScreeningIndex.from_entries(schema, deny), ScreeningIndex.from_entries(bschema, ben)


def test_a_large_delta_gives_the_engines_answers(reg: Registry) -> None:
    subjects, lines, later = batch()
    fresh = Screener.build(reg)  # empty: the batch arrives as one delta, its events as another
    ingest(reg, lines, "batch.jsonl")
    assert fresh.refresh(reg) == len(subjects)
    done, runs = fresh.last_delta
    assert done == len(subjects) and runs < done // 10  # the memo served most of them
    ingest(reg, later, "later.jsonl")
    fresh.refresh(reg)
    built = Screener.build(reg)
    want_deny, want_ben = reference(reg, subjects)
    sids = [parse_subject_id(s) for s in subjects]
    keys = np.array([s.key for s in sids], dtype=np.uint64)
    codes = np.array([s.value.encode() for s in sids], dtype="S18")
    assert 0 < int(want_deny.check_batch(keys, 0, TODAY, codes).deny.sum()) < len(subjects)
    for screener in (fresh, built):
        for bit in range(len(want_deny.schema.sectors)):
            for day in (TODAY, TODAY + dt.timedelta(days=200), TODAY + dt.timedelta(days=900)):
                for got, want in (
                    (screener.deny.current, want_deny),
                    (screener.benefits.current, want_ben),
                ):
                    g = got.check_batch(keys, bit, day, codes)
                    w = want.check_batch(keys, bit, day, codes)
                    assert (g.deny == w.deny).all() and (g.until == w.until).all()
                    assert (g.reason == w.reason).all()
        names = [f"名{i}" for i in range(N)] + ["公司"]
        assert all(screener.names.matches(s.key, n) for s, n in zip(sids, names, strict=True))
