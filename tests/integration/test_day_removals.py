"""The day's removals read over a few candidate subjects (``reports/day_removals.py``) are the
report's own removals for that day read over every subject: on a synthetic year, day by day
(publicity and monthly publication, fixed terms with extensions, publication terms, the rail
repeat rule, fulfilments, withdrawals and repairs)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.registry.ingest import ingest_table
from socialcredit.reports.day_removals import removals_on
from socialcredit.reports.listings import listings
from socialcredit.reports.period import Period, _d, _param
from socialcredit.reports.records import load_events, load_records
from socialcredit.reports.repeat import load_repeat_rows, repeat_extra_days
from socialcredit.runtime.registry import Registry, open_registry
from socialcredit.settings import Settings
from socialcredit.synthetic.generate import generate_population, generate_record_batches

YEAR = 2025


def every_subject(reg: Registry, day: dt.date) -> dict[str, int]:
    p = Period(day.year, _d(day), _d(day), dt.timedelta(hours=8))
    with reg.engine.connect() as conn:
        recs = load_records(conn, p)
        ev = load_events(conn, p, recs)
        rows = load_repeat_rows(conn, reg.pack, _param(conn, day))
        extra = repeat_extra_days(
            rows, recs.id, recs.subject, recs.decision, ev.fulfilled, reg.pack
        )
        _, totals = listings(recs, ev, p, reg, extra)
    return {k: int(v) for k, v in totals["removals_by_reason"].items()}


def test_candidates_give_the_reports_removals_day_by_day(tmp_path: Path) -> None:
    reg = open_registry(
        Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}"), migrate_schema=True
    )
    reg.clock = lambda: dt.datetime(YEAR + 1, 1, 15, tzinfo=dt.UTC)
    with reg.uow() as uow:
        seed_reference_authorities(uow, reg.pack)
        uow.commit()
    pop = generate_population(20_000, 500, 3, dt.date(YEAR, 12, 31))
    for batch in generate_record_batches(pop, YEAR, 0.004, 3, reg.pack):
        ingest_table(reg.uow(), batch, source="year", pack=reg.pack, today=reg.today())
    seen = dict.fromkeys(("fulfilled", "expired", "withdrawn", "repaired"), 0)
    day = dt.date(YEAR, 2, 3)
    while day < dt.date(YEAR + 1, 1, 15):
        mine = removals_on(reg, day)
        assert mine == every_subject(reg, day), day
        for k in seen:
            seen[k] += mine[k]
        day += dt.timedelta(days=23)
    assert all(n > 0 for n in seen.values()), seen  # every reason was met on the way
    reg.engine.dispose()
