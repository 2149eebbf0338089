"""The vectorised manifest path answers, errs and logs exactly as the row-by-row path.

A small registry (two people, one of them listed, and an enterprise); manifests in CSV and
NDJSON with every kind of row the row-by-row reader treats specially (bad IDs, wrong or
missing names, lower-case check characters, padded IDs, enterprises, sectors not served,
quoted commas and line breaks, short and long CSV rows, blank lines, lines that are not
objects). Each is answered by ``blockcheck.BlockScreening`` with blocks of a few rows (so block
cuts fall everywhere) and by the row-by-row reader of ``routes.py`` feeding ``screen_rows``;
the answers (bar the screening ids) and the queued log and refusal rows must agree, also when
the party's rate limit or its name-check budget refuses rows part way.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from socialcredit.domain.identity import ric_check_char
from socialcredit.registry.authorities import reference_authorities, seed_reference_authorities
from socialcredit.registry.ingest import ingest_file
from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.screening import blockcheck, blocks
from socialcredit.screening.api import ScreeningRuntime
from socialcredit.screening.guard import NameGuard
from socialcredit.screening.parties import KeyInfo, RelyingParty
from socialcredit.screening.routes import _format, _row_of, _rows
from socialcredit.screening.runtime import LogBlock
from socialcredit.screening.service import Screener
from socialcredit.screening.vectors import screening_ids
from socialcredit.settings import Settings

TODAY = dt.date.today()
FIRM = "91110000600037341L"


def person(born: str, seq: int) -> str:
    first = "110105" + born + f"{seq:03d}"
    return first + ric_check_char(first)


LISTED = person("19800101", 1)
FREE = person("19900202", 2)
X_ID = next(p for p in (person("19700303", s) for s in range(100)) if p.endswith("X"))
AIR = KeyInfo("k", RelyingParty("AIR", "airline", frozenset({"flight"}), True))


class Queue:
    """Stands in for the log writer: keeps what would be written."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.refused: list[tuple[Any, ...]] = []

    def screening(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)

    def screenings(self, rows: Any) -> None:
        self.rows.extend(rows)

    def screening_block(self, block: LogBlock) -> None:
        self.rows.extend(block.rows(block.columns["at"]))

    def refusal(self, row: tuple[Any, ...]) -> None:
        self.refused.append(row)


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    d = tmp_path_factory.mktemp("manifest")
    reg = open_registry(Settings(database_url=f"sqlite:///{d / 'r.db'}"), migrate_schema=True)
    with reg.uow() as uow:
        seed_reference_authorities(uow, reg.pack)
        uow.commit()
    cat = "air.smoking_or_devices"
    auth = next(a.code for a in reference_authorities(reg.pack) if a.may_submit(cat))
    firm_cat = next(
        c
        for c in sorted(reg.pack.categories)
        if "enterprise" in reg.pack.categories[c].subject_kinds
        and any(a.may_submit(c) for a in reference_authorities(reg.pack))
    )
    firm_auth = next(a.code for a in reference_authorities(reg.pack) if a.may_submit(firm_cat))
    lines = [
        {"authority": auth, "case_number": "C-1", "category": cat, "subject_id": LISTED,
         "subject_name": "王建国", "decision_date": (TODAY - dt.timedelta(days=60)).isoformat(),
         "legal_basis": "basis"},
        {"authority": auth, "case_number": "C-2", "category": cat, "subject_id": FREE,
         "subject_name": "李娜", "decision_date": "2012-01-05", "legal_basis": "basis"},
        {"authority": auth, "case_number": "C-3", "category": cat, "subject_id": X_ID,
         "subject_name": "张伟", "decision_date": "2012-01-05", "legal_basis": "basis"},
        {"authority": firm_auth, "case_number": "C-4", "category": firm_cat, "subject_id": FIRM,
         "subject_name": "某公司", "decision_date": "2012-01-05", "legal_basis": "basis",
         "legal_representative_id": FREE, "legal_representative_name": "李娜"},
    ]  # fmt: skip
    f = d / "batch.jsonl"
    f.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    report = ingest_file(reg.uow(), f, pack=reg.pack, today=TODAY)
    assert not report.rejected, report.rejected
    return reg


def rows_of(kind: str) -> list[dict[str, Any]]:
    good = [(LISTED, "王建国"), (FREE, "李娜"), (X_ID, "张伟"), (FIRM, "某公司")]
    out: list[dict[str, Any]] = []
    for k in range(3):
        for sid, name in good:
            row = {"subject_id": sid, "name": name, "reference": f"R{k}"}
            out.append(row | {"sector": "flight"} if k == 1 else row)
    out += [
        {"subject_id": "12345", "name": "x"},
        {"subject_id": FREE, "name": "别人"},
        {"subject_id": FREE, "name": ""},
        {"subject_id": "", "name": "李娜"},
        {"subject_id": X_ID.lower(), "name": "张伟"},
        {"subject_id": f" {FREE}", "name": "李娜"},
        {"subject_id": FREE, "name": "李 娜"},
        {"subject_id": FREE, "name": "李娜", "sector": "rail.standard"},
        {"subject_id": FREE, "name": "李娜", "sector": "no.such"},
        {"subject_id": LISTED, "name": "王建国", "sector": "flight", "purpose": "p, with comma"},
        # the registry's name spelt otherwise: a middle dot (normalised by pyarrow), a
        # compatibility ideograph for 王 (normalised by NFKC in Python); both the right name
        {"subject_id": LISTED, "name": "王・建国"},
        {"subject_id": LISTED, "name": "\U0002f929建国"},
        {"subject_id": FREE, "name": "李娜", "purpose": "two\nlines", "reference": ""},
    ]
    return out


def as_csv(rows: list[dict[str, Any]], extra: str = "") -> bytes:
    buf = io.StringIO()
    import csv

    w = csv.DictWriter(buf, ["subject_id", "name", "sector", "purpose", "reference"])
    w.writeheader()
    w.writerows(rows)
    text = "\ufeff" + buf.getvalue().replace("\r\n", "\n") + extra
    return text.encode()


def as_ndjson(rows: list[dict[str, Any]], extra: str = "") -> bytes:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + extra
    return text.encode()


CSV_ODD = 'a,b\n\n{free},李娜,flight,p,r,extra\n{free},李娜\n"{free}","李娜","flight"\n'
ND_ODD = (
    '\n  \n[1,2]\nnot json\n{{"subject_id": 1, "name": "x"}}\n'
    '{{"subject_id": "{free}", "name": null}}\n{{"subject_id": "{free}", "name": "李娜", '
    '"sector": null, "purpose": null, "reference": null, "other": [1]}}\n'
)


def old_answers(rt: ScreeningRuntime, body: bytes, kind: str, sector: str | None) -> str:
    out = ",".join(blockcheck.CSV_FIELDS) + "\n" if kind == "csv" else ""
    rows = list(_rows(io.BytesIO(body), kind, sector))
    return out + _format(rt.screen_rows(AIR, rows), kind)


def new_answers(rt: ScreeningRuntime, body: bytes, kind: str, sector: str | None) -> str:
    screening = blockcheck.BlockScreening(rt, AIR, kind, sector, _row_of, _format)
    return b"".join(screening.stream(io.BytesIO(body))).decode()


def count_slow_rows(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The rows the block path hands to the row-by-row path (collected as it does)."""
    slow: list[Any] = []
    check = blockcheck.check_chunk

    def counting(rt: Any, who: Any, chunk: Any, *args: Any) -> Any:
        slow.extend(chunk)
        return check(rt, who, chunk, *args)

    monkeypatch.setattr(blockcheck, "check_chunk", counting)
    return slow


def strip_ids(text: str) -> str:
    return re.sub(
        r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", "ID", text
    )


def log_view(q: Queue) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    return (
        sorted((tuple(r[2:]) for r in q.rows), key=repr),
        sorted((tuple(r[1:]) for r in q.refused), key=repr),
    )


@pytest.mark.parametrize("block", [40, 200, 1 << 20])
@pytest.mark.parametrize("kind", ["csv", "ndjson"])
@pytest.mark.parametrize("sector", ["flight", None])
def test_vectorised_manifest_matches_row_by_row(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, block: int, kind: str, sector: str | None
) -> None:
    rt = ScreeningRuntime.open(reg)
    rows = rows_of(kind)
    # One block holding an odd row is read row by row, all of it: so the one-block run
    # has none, and the small blocks have them all.
    odd = block < 1 << 20
    body = (
        as_csv(rows, CSV_ODD.format(free=FREE) if odd else "")
        if kind == "csv"
        else as_ndjson(rows, ND_ODD.format(free=FREE) if odd else "")
    )
    old_q, new_q = Queue(), Queue()
    rt.writer = old_q  # type: ignore[assignment]
    want = old_answers(rt, body, kind, sector)
    rt.writer = new_q  # type: ignore[assignment]
    monkeypatch.setattr(blocks, "BLOCK_BYTES", block)
    slow = count_slow_rows(monkeypatch)
    got = new_answers(rt, body, kind, sector)
    lines = len(got.strip().splitlines()) - (kind == "csv")
    assert len(slow) < lines  # some rows were answered without the row-by-row path
    assert strip_ids(got) == strip_ids(want)
    assert log_view(new_q) == log_view(old_q)
    assert "deny" in got and "allow" in got and "invalid_input" in got


def test_screening_ids_have_the_layout() -> None:
    ids = screening_ids(1000).to_pylist()
    assert len(set(ids)) == 1000
    pattern = r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert all(re.fullmatch(pattern, i) for i in ids)


def test_a_manifest_past_the_limit_ends_with_the_error(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = ScreeningRuntime.open(reg)
    rt.writer = Queue()  # type: ignore[assignment]
    monkeypatch.setattr(blockcheck, "MAX_BATCH_ROWS", 5)
    body = as_csv([{"subject_id": FREE, "name": "李娜"}] * 8)
    got = new_answers(rt, body, "csv", "flight")
    lines = got.strip().splitlines()
    assert len(lines) == 1 + 5 + 1
    assert lines[-1].startswith("6,") and "at most" in lines[-1]


class Budget:
    """Stands in for the rate limiter: ``tokens`` screenings in all, then none (and a wait
    too long to pace), whatever the clock says."""

    def __init__(self, tokens: int) -> None:
        self.left = tokens

    def take(self, key: str, rate_per_minute: int, want: int) -> tuple[int, float]:
        granted = min(want, self.left)
        self.left -= granted
        return granted, 0.0 if granted == want else 3600.0

    def allow(self, key: str, rate_per_minute: int) -> bool:
        return self.take(key, rate_per_minute, 1)[0] == 1


def both_ways(
    rt: ScreeningRuntime, body: bytes, kind: str, fresh: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str, Queue, Queue]:
    """The manifest answered row by row and by blocks of a few rows, each from ``fresh()``
    state (rate limit, name-check budget)."""
    old_q, new_q = Queue(), Queue()
    rt.writer = old_q  # type: ignore[assignment]
    fresh()
    want = old_answers(rt, body, kind, "flight")
    rt.writer = new_q  # type: ignore[assignment]
    fresh()
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 300)
    got = new_answers(rt, body, kind, "flight")
    return want, got, old_q, new_q


@pytest.mark.parametrize("kind", ["csv", "ndjson"])
def test_rows_past_the_rate_limit_are_refused_alike(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    rt = ScreeningRuntime.open(reg)
    rows = rows_of(kind)
    body = as_csv(rows) if kind == "csv" else as_ndjson(rows)

    def fresh() -> None:
        rt.limiter = Budget(9)  # type: ignore[assignment]

    want, got, old_q, new_q = both_ways(rt, body, kind, fresh, monkeypatch)
    assert strip_ids(got) == strip_ids(want)
    assert log_view(new_q) == log_view(old_q)
    assert got.count("rate_limited") >= 10  # rows with errors of their own keep them


@pytest.mark.parametrize("kind", ["csv", "ndjson"])
def test_a_name_budget_spent_inside_a_block_refuses_the_later_rows_alike(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Wrong names for one ID spend its budget part way through a block: its rows with the
    right name after that are refused (name_checks_exhausted), those before are answered;
    an ID blocked before the manifest is refused throughout."""
    rt = ScreeningRuntime.open(reg)
    right = {"subject_id": FREE, "name": "李娜"}
    wrong = {"subject_id": FREE, "name": "别人"}
    other = {"subject_id": LISTED, "name": "王建国"}
    rows = [right, other, wrong, right, wrong, other, wrong, right, right, other, right]
    body = as_csv(rows) if kind == "csv" else as_ndjson(rows)

    def fresh() -> None:
        rt.guard = NameGuard(failures="3/hour")
        for _ in range(3):
            rt.guard.failed("AIR", X_ID)

    want, got, old_q, new_q = both_ways(rt, body, kind, fresh, monkeypatch)
    assert strip_ids(got) == strip_ids(want)
    assert log_view(new_q) == log_view(old_q)
    assert got.count("name_checks_exhausted") == 3
    rows = [{"subject_id": X_ID, "name": "张伟"}, right] * 3
    body = as_csv(rows) if kind == "csv" else as_ndjson(rows)
    want, got, old_q, new_q = both_ways(rt, body, kind, fresh, monkeypatch)
    assert strip_ids(got) == strip_ids(want)
    assert log_view(new_q) == log_view(old_q)
    assert got.count("name_checks_exhausted") == 3


def test_a_snapshot_of_another_name_hash_is_rebuilt_not_misread(
    reg: Registry, tmp_path: Path
) -> None:
    """The name table's cells are the names' hashes: a snapshot written with another hash
    function (an older SNAPSHOT_FORMAT) is rebuilt from the registry, so the right name
    still passes."""
    snap = Screener.build(reg).save(tmp_path / "snap")
    again = Screener.open(reg, snap)
    assert again.source == "snapshot" and again.names.matches(int(LISTED[:17]), "王建国")
    state = json.loads((snap / "state.json").read_text("utf-8"))
    (snap / "state.json").write_text(json.dumps(state | {"format": 2}), "utf-8")
    rebuilt = Screener.open(reg, snap)
    assert rebuilt.source == "built" and rebuilt.names.matches(int(LISTED[:17]), "王·建国")
