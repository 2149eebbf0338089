"""Fill a registry with a synthetic population and a year of records (``socialcredit generate``).

Subjects go in through the subject repository; records go through the ingest service like any
authority's batch, so they are validated by the same code and land in one transaction.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.registry import add_authority, ingest_table, reference_authorities
from socialcredit.runtime.registry import Registry
from socialcredit.store.ports import Subject
from socialcredit.synthetic.population import generate_population
from socialcredit.synthetic.records import generate_records

Progress = Callable[[str, int, int], None]
CHUNK = 50_000


def _subjects(table: pa.Table) -> list[Subject]:
    cols = table.to_pydict()
    return [
        Subject(
            id=cols["subject_id"][i],
            kind=cols["kind"][i],
            name=cols["name"][i],
            region_code=cols["region_code"][i],
            birth_date=cols["birth_date"][i],
            contact_email=cols["contact_email"][i],
            legal_representative_id=cols["legal_representative_id"][i],
        )
        for i in range(table.num_rows)
    ]


def populate(
    reg: Registry,
    *,
    individuals: int,
    enterprises: int,
    seed: int,
    year: int | None = None,
    scale: float | None = None,
    out_dir: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Generate and load; return a summary (counts, seconds)."""
    t0 = time.perf_counter()
    today = reg.today()
    year = year or today.year
    on = min(today, dt.date(year, 12, 31))
    pop = generate_population(individuals, enterprises, seed, on, progress)
    auths = {a.code: a for a in reference_authorities(reg.pack)}
    records = generate_records(pop, year, scale, seed, reg.pack, auths, progress)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(pop.subjects, out_dir / "subjects.parquet")
        pq.write_table(records, out_dir / f"records-{year}.parquet")

    with reg.uow() as uow:
        for a in auths.values():
            if uow.authorities.get(a.code) is None:
                add_authority(uow, a)
        added = 0
        n = pop.subjects.num_rows
        for start in range(0, n, CHUNK):
            added += uow.subjects.add_many(_subjects(pop.subjects.slice(start, CHUNK)))
            if progress:
                progress("loading subjects", min(start + CHUNK, n), n)
        uow.commit()

    def ingest_progress(done: int) -> None:
        if progress:
            progress("ingesting records", done, records.num_rows)

    report = ingest_table(
        reg.uow(),
        records,
        source=f"synthetic population seed={seed} year={year}",
        pack=reg.pack,
        today=today,
        progress=ingest_progress,
    )
    # Scoring pilots: residences, scoring-only records of programme regions, score history.
    from socialcredit.synthetic.scoring import populate_scoring

    scoring = populate_scoring(reg, pop.subjects, year=year, seed=seed, today=today)
    return {
        "individuals": individuals,
        "enterprises": enterprises,
        "subjects_added": added,
        "year": year,
        "record_lines": records.num_rows,
        "records_accepted": report.accepted,
        "duplicates": report.duplicates,
        "rejected": len(report.rejected),
        "already_ingested": report.already_ingested,
        "batch_id": report.batch_id,
        "scoring": scoring,
        "seconds": round(time.perf_counter() - t0, 2),
    }
