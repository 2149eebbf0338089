"""The ingest service on both backends, through files of every format."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine
from tests.unit.id_cases import ACCEPTED, REJECTED

from socialcredit.domain.identity import parse_subject_id, ric_check_char
from socialcredit.domain.records import EventType
from socialcredit.domain.rules import RulePack
from socialcredit.errors import BatchRejected, InvalidIdentifier
from socialcredit.registry.ingest import IngestReport, ingest_file, ingest_table
from socialcredit.store import SqlUnitOfWork

TODAY = dt.date(2026, 4, 1)
PERSON = "11010519491231002X"
PERSON2 = "360426199101010071"
ENTERPRISE = "91110000600037341L"
MINOR = "11010520100101001" + ric_check_char("11010520100101001")


def listed(case: str = "(2024)京0108执1号", **over: Any) -> dict[str, Any]:
    row = {
        "authority": "SPC-BJ-HD",
        "case_number": case,
        "category": "court.defaulter.refuses",
        "subject_id": PERSON,
        "subject_name": "张三",
        "decision_date": "2024-03-01",
        "legal_basis": "SPC Provisions Art. 1(1)",
        "amount_owed": "1200.50",
    }
    row.update(over)
    return row


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    elif path.suffix == ".csv":
        names = list(dict.fromkeys(k for r in rows for k in r))
        buf = io.StringIO()
        w = csv.DictWriter(buf, names, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        path.write_text(buf.getvalue(), "utf-8")
    else:
        names = list(dict.fromkeys(k for r in rows for k in r))
        pq.write_table(pa.table({n: [r.get(n) for r in rows] for n in names}), path)
    return path


def ingest(uow: SqlUnitOfWork, path: Path, pack: RulePack, **kw: Any) -> IngestReport:
    return ingest_file(uow, path, pack=pack, today=TODAY, **kw)


def counts(engine: Engine) -> tuple[int, int, int]:
    with SqlUnitOfWork(engine, readonly=True) as uow:
        return uow.records.count(), uow.records.event_count(), uow.subjects.count()


@pytest.mark.parametrize("ext", [".jsonl", ".csv", ".parquet"])
def test_each_format_ingests_and_resending_is_a_no_op(
    engine: Engine, uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path, ext: str
) -> None:
    rows = [
        listed(),
        listed(
            "(2024)京0108执2号",
            subject_id=ENTERPRISE,
            subject_name="某公司",
            legal_representative_id=PERSON2,
            legal_representative_name="李四",
        ),
        {
            "event": "fulfilled",
            "authority": "SPC-BJ-HD",
            "case_number": "(2024)京0108执1号",
            "event_date": "2024-05-01",
        },
    ]
    path = write(tmp_path / f"batch{ext}", rows)
    report = ingest(uow, path, pack)
    assert (report.lines, report.accepted, report.duplicates, report.rejected) == (3, 3, 0, ())
    assert counts(engine) == (2, 3, 3)  # person, enterprise and its legal representative
    again = ingest(uow, path, pack)
    assert again.already_ingested and again.batch_id == report.batch_id
    assert counts(engine) == (2, 3, 3)
    with uow:
        rec = uow.records.get("SPC-BJ-HD", "(2024)京0108执1号")
        rep_events = uow.records.events_for_subject(PERSON2)
        own = uow.records.events_for_subject(PERSON)
        enterprise = uow.subjects.get(ENTERPRISE)
    assert rec is not None and rec.amount_owed == Decimal("1200.50")
    assert [e.type for e in own] == [EventType.LISTED, EventType.FULFILLED]
    assert own[0].seq < own[1].seq
    assert [e.ref.case_number for e in rep_events] == ["(2024)京0108执2号"]
    assert enterprise is not None and enterprise.kind == "enterprise"


def test_identical_listing_is_a_duplicate_and_a_different_one_a_conflict(
    engine: Engine, uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path
) -> None:
    ingest(uow, write(tmp_path / "a.jsonl", [listed()]), pack)
    rows = [
        listed(),  # identical: no-op
        listed(amount_owed="99"),  # same case, different content: conflict
        listed("new", amount_owed="5"),
        listed("new", amount_owed="5"),  # repeated in the same file: duplicate
        listed("new", amount_owed="6"),  # conflicts with line 3
    ]
    report = ingest(uow, write(tmp_path / "b.jsonl", rows), pack)
    assert (report.accepted, report.duplicates) == (1, 2)
    assert [(p.line, p.field) for p in report.rejected] == [(2, "case_number"), (5, "case_number")]
    assert "conflicts" in report.rejected[0].reason
    assert "line 3" in report.rejected[1].reason
    assert counts(engine)[0] == 2


def test_resent_event_is_a_no_op(
    engine: Engine, uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path
) -> None:
    ev = {
        "event": "withdrawn",
        "authority": "SPC-BJ-HD",
        "case_number": "(2024)京0108执1号",
        "event_date": "2024-06-01",
        "reason": "creditor_withdrew",
    }
    ingest(uow, write(tmp_path / "a.jsonl", [listed(), ev]), pack)
    report = ingest(uow, write(tmp_path / "b.jsonl", [ev, ev]), pack)
    assert (report.accepted, report.duplicates, report.rejected) == (0, 2, ())
    assert counts(engine)[1] == 2


def test_bad_lines_are_reported_and_good_lines_go_in(
    engine: Engine, uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path
) -> None:
    rows = [
        listed("ok"),
        listed("bad-id", subject_id="11010519491231002Y"[:17] + "1"),
        listed("minor", subject_id=MINOR, decision_date="2024-01-01"),
        listed("rail", authority="CR"),  # a railway may not submit a court category
        listed("future", decision_date="2027-01-01"),
        listed("no-date", decision_date="2024-02-30"),
        listed("kind", category="air.false_documents", authority="CAAC", subject_id=ENTERPRISE),
        listed("amount", amount_owed="-3"),
        listed("ext", category="court.defaulter.obstructs", extension_years="4"),
        {
            "event": "fulfilled",
            "authority": "SPC-BJ-HD",
            "case_number": "nope",
            "event_date": "2025-01-01",
        },
        {
            "event": "withdrawn",
            "authority": "SPC-BJ-HD",
            "case_number": "ok",
            "event_date": "2025-01-01",
            "reason": "bored",
        },
        listed("who", authority="NOBODY"),
        {"event": "paid", "authority": "SPC-BJ-HD", "case_number": "ok"},
    ]
    report = ingest(uow, write(tmp_path / "bad.jsonl", rows), pack)
    got = {(p.line, p.field) for p in report.rejected}
    assert got >= {
        (2, "subject_id"),
        (3, "subject_id"),
        (4, "category"),
        (5, "decision_date"),
        (6, "decision_date"),
        (7, "category"),
        (8, "amount_owed"),
        (9, "extension_years"),
        (10, "case_number"),
        (11, "reason"),
        (12, "authority"),
        (13, "event"),
    }
    by_line = {p.line: p for p in report.rejected}
    assert "check character" in by_line[2].reason
    assert "minor" in by_line[3].reason
    assert "may not submit" in by_line[4].reason
    assert "future" in by_line[5].reason
    assert "enterprise" in by_line[7].reason
    assert by_line[9].reason == "at most 3 for this category"
    assert report.accepted == 1 and report.rejected_lines == 12
    assert counts(engine)[0] == 1


def test_all_or_nothing_writes_nothing(
    engine: Engine, uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path
) -> None:
    path = write(tmp_path / "a.csv", [listed("a"), listed("b", decision_date="yesterday")])
    with pytest.raises(BatchRejected) as info:
        ingest(uow, path, pack, all_or_nothing=True)
    assert [(p.line, p.field) for p in info.value.problems] == [(3, "decision_date")]
    assert counts(engine) == (0, 0, 0)
    with uow:
        assert uow.ingest.find_batch("0" * 64) is None


@pytest.mark.parametrize("ext", [".jsonl", ".csv", ".parquet"])
def test_unknown_columns_reject_the_file(
    uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path, ext: str
) -> None:
    path = write(tmp_path / f"a{ext}", [listed(), listed("b", colour="red")])
    with pytest.raises(BatchRejected) as info:
        ingest(uow, path, pack)
    assert info.value.problems[0].field == "colour"
    assert "unknown column" in info.value.problems[0].reason


def test_unparseable_json_line_is_reported_by_number(
    engine: Engine, uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(listed("a")) + "\n{not json\n\n" + json.dumps(listed("b")) + "\n")
    report = ingest(uow, path, pack)
    assert [(p.line, p.field) for p in report.rejected] == [(2, "line")]
    assert "not valid JSON" in report.rejected[0].reason
    assert report.accepted == 2


def test_bad_csv_rows_are_reported_by_number(
    uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path
) -> None:
    path = write(tmp_path / "a.csv", [listed("a"), listed("b")])
    text = path.read_text().splitlines()
    path.write_text("\n".join([text[0], text[1], "too,few", text[2]]) + "\n")
    report = ingest(uow, path, pack)
    assert [(p.line, p.field) for p in report.rejected] == [(3, "line")]
    assert report.accepted == 2


def test_not_parquet_is_rejected_without_traceback(
    uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path
) -> None:
    path = tmp_path / "a.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(BatchRejected) as info:
        ingest(uow, path, pack)
    assert "Parquet" in info.value.problems[0].reason


def test_in_memory_table_and_progress(engine: Engine, uow: SqlUnitOfWork, pack: RulePack) -> None:
    rows = [listed(f"c{i}") for i in range(50)]
    table = pa.table({k: [r[k] for r in rows] for k in rows[0]})
    seen: list[int] = []
    report = ingest_table(
        uow, table, source="generator", pack=pack, today=TODAY, progress=seen.append
    )
    assert report.accepted == 50 and seen[-1] == 50
    assert counts(engine) == (50, 50, 1)
    with uow:
        assert uow.records.counts_by_category() == {"court.defaulter.refuses": 50}
        assert uow.records.subject_ids_with_records() == [PERSON]


def test_events_earlier_in_the_file_and_corrections(
    uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path
) -> None:
    rows = [
        {
            "event": "fulfilled",
            "authority": "SPC-BJ-HD",
            "case_number": "x",
            "event_date": "2024-05-01",
        },
        listed("x"),
        {**listed("x", amount_owed="10"), "event": "corrected", "event_date": "2024-04-01"},
        {**listed("x", subject_id=PERSON2), "event": "corrected", "event_date": "2024-04-02"},
        {
            "event": "fulfilled",
            "authority": "SPC-BJ-HD",
            "case_number": "x",
            "event_date": "2024-05-01",
        },
    ]
    report = ingest(uow, write(tmp_path / "a.jsonl", rows), pack)
    assert [(p.line, p.field) for p in report.rejected] == [(1, "case_number"), (4, "subject_id")]
    with uow:
        events = uow.records.events_for_subject(PERSON)
    assert [e.type for e in events] == [EventType.LISTED, EventType.CORRECTED, EventType.FULFILLED]
    corrected = events[1].record
    assert corrected is not None and corrected.amount_owed == Decimal("10")


def test_authorities_cannot_send_registry_only_events(
    engine: Engine, pack: RulePack, today: dt.date, tmp_path: Path
) -> None:
    from socialcredit.registry.ingest import ingest_file

    path = tmp_path / "hold.jsonl"
    path.write_text(
        '{"event": "suspended", "authority": "CAAC", "case_number": "X-1", '
        '"event_date": "2026-01-05"}\n'
    )
    report = ingest_file(SqlUnitOfWork(engine), path, pack=pack, today=today)
    assert report.accepted == 0
    (p,) = [p for p in report.rejected if p.field == "event"]
    assert p.line == 1 and "must be one of" in p.reason and "suspended" not in p.reason


@pytest.mark.parametrize("ext", [".jsonl", ".csv"])
def test_real_world_identifiers_as_the_domain_reads_them(
    tmp_path: Path, uow: SqlUnitOfWork, pack: RulePack, ext: str
) -> None:
    """Issue 16's table through a file on both backends: the lines the domain parser
    accepts go in under its value with its warnings; the others fail with its reason."""
    raws = [c.raw for c in ACCEPTED.values()] + [raw for raw, _ in REJECTED.values()]
    rows = [listed(f"id{i}", subject_id=raw) for i, raw in enumerate(raws)]
    report = ingest(uow, write(tmp_path / f"ids{ext}", rows), pack)
    assert report.accepted == len(ACCEPTED)
    first = 2 if ext == ".csv" else 1  # a CSV's line 1 is its header
    for line, raw in enumerate(raws, start=first):
        got = [(p.field, p.reason, p.value) for p in report.rejected if p.line == line]
        warned = [(p.field, p.reason, p.value) for p in report.warnings if p.line == line]
        try:
            sid = parse_subject_id(raw, "subject_id", TODAY)
        except InvalidIdentifier as e:
            assert got == [("subject_id", e.problems[0].reason, raw)]
            continue
        assert got == [] and warned == [("subject_id", w, raw) for w in sid.warnings]
        with uow:
            rec = uow.records.get("SPC-BJ-HD", f"id{line - first}")
            assert rec is not None and rec.subject_id == sid.value
            subject = uow.subjects.get(sid.value)
            assert subject is not None and subject.birth_date == sid.birth_date


def test_later_batch_keys_inside_beyond_and_below_the_stored_range(
    uow: SqlUnitOfWork, pack: RulePack, tmp_path: Path
) -> None:
    """Only keys within an authority's stored range of case numbers are looked up (a month's
    new listings lie past it); the ends of the range and both sides of it still decide
    duplicates, conflicts and events correctly."""
    first = [listed("K-2"), listed("K-5", subject_id=PERSON2)]
    assert ingest(uow, write(tmp_path / "a.jsonl", first), pack).accepted == 2
    later = [
        listed("K-2"),  # the lowest stored: a duplicate
        listed("K-5", amount_owed="9.99"),  # the highest stored, different: a conflict
        listed("K-3"),  # inside the range, not stored: new
        listed("K-1"),  # below it: new
        listed("K-9"),  # past it: new
        {
            "event": "fulfilled",
            "authority": "SPC-BJ-HD",
            "case_number": "K-5",
            "event_date": "2024-05-01",
        },
        {
            "event": "fulfilled",
            "authority": "SPC-BJ-HD",
            "case_number": "K-4",
            "event_date": "2024-05-01",
        },  # inside the range, never listed
        listed("K-7", authority="SPC-BJ-CY"),  # an authority with nothing stored: new
    ]
    report = ingest(uow, write(tmp_path / "b.jsonl", later), pack)
    bad = {(p.line, p.field) for p in report.rejected}
    assert bad == {(2, "case_number"), (7, "case_number")}
    assert report.duplicates == 1
    assert report.accepted == 5
    with uow:
        for case in ("K-1", "K-3", "K-9"):
            assert uow.records.get("SPC-BJ-HD", case) is not None
