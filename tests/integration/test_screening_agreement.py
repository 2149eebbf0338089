"""Every screening path agrees with the pure restriction engine, on generated populations.

For each generated population (a few persons, an enterprise whose legal representative is the
first person, records with fulfilments, withdrawals and repairs), ingested into a fresh SQLite
registry, the answers of

- the server's path (``ScreeningRuntime.screen``: key, sector, name check, index),
- the batch path (``ScreeningRuntime.screen_rows``, vectorised),
- the CLI's ``check`` (``check_decision``), and
- an index kept fresh by deltas (built empty, then ``refresh`` after the ingest)

equal ``assess(events from the store).decide(sector)`` for every subject and sector, today and
on a later day (the index enforces expiry itself).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.domain.identity import SubjectId, parse_subject_id, ric_check_char
from socialcredit.domain.restrictions import assess
from socialcredit.registry.authorities import reference_authorities, seed_reference_authorities
from socialcredit.registry.feed import events_by_subject
from socialcredit.registry.ingest import ingest_file
from socialcredit.rulepacks import load_rulepack
from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.screening.api import Request, ScreeningRuntime
from socialcredit.screening.check import check_decision
from socialcredit.screening.parties import KeyInfo, RelyingParty
from socialcredit.screening.service import Screener
from socialcredit.settings import Settings
from socialcredit.store.sql import SqlRecords

PACK = load_rulepack()
TODAY = dt.date.today()
FIRM = "91110000600037341L"
SECTORS = sorted(PACK.sectors)
AUTHORITY = {
    cat: next(a.code for a in reference_authorities(PACK) if a.may_submit(cat))
    for cat in PACK.categories
    if any(a.may_submit(cat) for a in reference_authorities(PACK))
}
PERSON_CATS = sorted(c for c in AUTHORITY if "person" in PACK.categories[c].subject_kinds)
FIRM_CATS = sorted(c for c in AUTHORITY if "enterprise" in PACK.categories[c].subject_kinds)
EVERYTHING = KeyInfo("test", RelyingParty("ALL", "all sectors", frozenset(SECTORS), True))


@pytest.fixture(scope="module")
def template() -> Iterator[Path]:
    """A migrated registry with the reference authorities, copied for each example."""
    d = Path(tempfile.mkdtemp(prefix="screening-agree-"))
    reg = open_registry(Settings(database_url=f"sqlite:///{d / 'r.db'}"), migrate_schema=True)
    with reg.uow() as uow:
        seed_reference_authorities(uow, reg.pack)
        uow.commit()
    reg.engine.dispose()
    yield d / "r.db"
    shutil.rmtree(d, ignore_errors=True)


def person(born: dt.date, seq: int) -> str:
    first = "110105" + born.strftime("%Y%m%d") + f"{seq:03d}"
    return first + ric_check_char(first)


@st.composite
def populations(draw: st.DrawFn) -> tuple[list[str], list[dict[str, object]]]:
    people = [
        person(draw(st.dates(dt.date(1950, 1, 1), dt.date(2003, 12, 31))), i)
        for i in range(draw(st.integers(1, 3)))
    ]
    subjects = [*people, FIRM]
    lines: list[dict[str, object]] = []
    for i in range(draw(st.integers(1, 6))):
        who = draw(st.sampled_from(subjects))
        cat = draw(st.sampled_from(FIRM_CATS if who == FIRM else PERSON_CATS))
        decided = TODAY - dt.timedelta(days=draw(st.integers(0, 1000)))
        rec: dict[str, object] = {
            "authority": AUTHORITY[cat],
            "case_number": f"C-{i}",
            "category": cat,
            "subject_id": who,
            "subject_name": f"名{subjects.index(who)}",
            "decision_date": decided.isoformat(),
            "legal_basis": "basis",
        }
        if who == FIRM:
            rec["legal_representative_id"] = people[0]
            rec["legal_representative_name"] = "名0"
        lines.append(rec)
        later = draw(st.sampled_from([None, "fulfilled", "withdrawn", "repaired"]))
        if later is not None:
            when = decided + dt.timedelta(days=draw(st.integers(0, 400)))
            if when <= TODAY:
                ev = {
                    "event": later,
                    "authority": rec["authority"],
                    "case_number": rec["case_number"],
                    "event_date": when.isoformat(),
                }
                if later == "withdrawn":
                    ev["reason"] = "other"
                lines.append(ev)
    return subjects, lines


def fresh_registry(template: Path, tmp: Path) -> Registry:
    shutil.copy(template, tmp / "r.db")
    return open_registry(Settings(database_url=f"sqlite:///{tmp / 'r.db'}"))


def ingest(reg: Registry, lines: list[dict[str, object]], tmp: Path) -> None:
    f = tmp / "batch.jsonl"
    f.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    ingest_file(reg.uow(), f, pack=reg.pack, today=TODAY)


def expected(reg: Registry, sid: SubjectId, sector: str, on: dt.date) -> tuple[str, str | None]:
    with reg.engine.connect() as conn:
        events = SqlRecords(conn).events_for_subject(sid.value)
    d = assess(sid, events, reg.pack, on, reg.calendar).decide(sector)
    return d.decision, d.until.isoformat() if d.until is not None else d.until_condition


def same(got: tuple[str, str | None], want: tuple[str, str | None]) -> bool:
    """Same decision and end; an open-ended deny names one of the engine's conditions (the
    engine lists every open-ended one, a relying party gets the decisive reason's)."""
    if got[0] != want[0]:
        return False
    if got[1] == want[1]:
        return True
    return got[1] is not None and want[1] is not None and got[1] in want[1].split("; ")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(populations())
def test_every_path_agrees_with_the_engine(
    template: Path, population: tuple[list[str], list[dict[str, object]]]
) -> None:
    subjects, lines = population
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        reg = fresh_registry(template, tmp)
        kept_fresh = Screener.build(reg)  # empty: what follows arrives as deltas
        ingest(reg, lines, tmp)
        kept_fresh.refresh(reg, force_keys=True)
        built = Screener.build(reg)
        with reg.engine.connect() as conn:  # the set-wise reader equals the store's
            bulk = events_by_subject(conn)
            for s in subjects:
                assert bulk.get(s, []) == SqlRecords(conn).events_for_subject(s)
        names = {s: f"名{i}" for i, s in enumerate(subjects)}
        stored = {s for s in subjects if built.names.matches(parse_subject_id(s).key, names[s])}
        for screener in (built, kept_fresh):
            rt = ScreeningRuntime(reg, screener)
            rows = [Request(s, names[s], sector, "test") for s in stored for sector in SECTORS]
            batch = list(rt.screen_rows(EVERYTHING, rows, log_rows=False))
            for req, b in zip(rows, batch, strict=True):
                sid = parse_subject_id(req.subject_id)
                want = expected(reg, sid, req.sector, TODAY)
                one = rt.screen(EVERYTHING, req)
                cli = check_decision(reg, req.subject_id, req.sector, TODAY)
                assert same((one["decision"], one["until"] or one["until_condition"]), want)
                assert same((b["decision"], b["until"] or b["until_condition"]), want)
                cli_until = cli.until.isoformat() if cli.until else cli.until_condition
                assert same((cli.decision, cli_until), want), (req, lines)
            later = TODAY + dt.timedelta(days=400)
            for s in stored:
                sid = parse_subject_id(s)
                for sector in SECTORS:
                    fid = screener.identify(s, names[s])
                    v, _ = screener.verdict(fid, screener.sector_bit(sector), later)
                    want = expected(reg, sid, sector, later)
                    assert ("deny" if v.deny else "allow") == want[0], (s, sector, lines)
                    if v.until is not None:
                        assert v.until.isoformat() == want[1]
        reg.engine.dispose()
