"""The report dates removals by the rail repeat rule, as the restriction engine does.

One person, three fare-evasion records in 2025 (monthly publication, 7 working days'
publicity, listed until paid). The first is paid on 1 Mar after its listing began; the
second is paid before its listing would begin; the third is decided within a year of the
first payment, so once paid (6 May) it stays listed 90 days more, to 3 Aug.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from socialcredit.domain.identity import parse_subject_id, ric_check_char
from socialcredit.domain.restrictions import assess
from socialcredit.registry.authorities import seed_reference_authorities
from socialcredit.registry.ingest import ingest_bytes
from socialcredit.reports.figures import build_report
from socialcredit.runtime.registry import open_registry
from socialcredit.settings import Settings

BASE = "110105198001010" + "21"
PERSON = BASE + ric_check_char(BASE)


def line(case: str, **kw: Any) -> str:
    base = {"authority": "CR", "case_number": case}
    return json.dumps(base | kw, ensure_ascii=False) + "\n"


def listed(case: str, day: str) -> str:
    return line(case, category="rail.fare_evasion", subject_id=PERSON, subject_name="某",
                decision_date=day, legal_basis="basis")  # fmt: skip


def paid(case: str, day: str) -> str:
    return line(case, event="fulfilled", event_date=day)


def test_removals_follow_the_repeat_rule(tmp_path: Path) -> None:
    reg = open_registry(Settings(database_url=f"sqlite:///{tmp_path}/r.db"), migrate_schema=True)
    reg.clock = lambda: dt.datetime(2026, 3, 1, 4, tzinfo=dt.UTC)
    with reg.uow() as uow:
        seed_reference_authorities(uow, reg.pack)
        uow.commit()
    data = "".join(
        [listed("R1", "2025-01-06"), listed("R2", "2025-02-10"), listed("R3", "2025-03-03"),
         paid("R1", "2025-03-01"), paid("R2", "2025-03-01"), paid("R3", "2025-05-06")]
    )  # fmt: skip
    rep = ingest_bytes(
        reg.uow(), data.encode(), "jsonl", source="f", pack=reg.pack, today=dt.date(2026, 3, 1)
    )
    assert not rep.rejected, rep.rejected

    with reg.uow() as uow:
        events = uow.records.events_for_subject(PERSON)
    a = assess(parse_subject_id(PERSON), events, reg.pack, dt.date(2025, 12, 31), reg.calendar)
    ends = {x.ref.case_number: (x.start, x.end) for x in a.listings}
    assert ends["R3"][1] == dt.date(2025, 8, 3)  # paid 6 May + 90 days - 1
    assert ends["R1"][0] <= ends["R1"][1] == dt.date(2025, 2, 28)
    assert ends["R2"][1] is not None and ends["R2"][1] < ends["R2"][0]  # never in force

    r = build_report(reg, 2025)
    t = r["tables"]["listings"]
    col = {name: [row[i] for row in t["rows"]] for i, name in enumerate(t["columns"])}
    listed_month = [0] * 12
    removed_month = [0] * 12
    for start, end in (ends["R1"], ends["R3"]):
        assert start is not None and end is not None
        listed_month[start.month - 1] += 1
        removed_month[(end + dt.timedelta(days=1)).month - 1] += 1
    assert col["subjects newly listed"] == listed_month
    assert col["subjects removed"] == removed_month  # March (R1) and August (R3)
    assert removed_month[7] == 1
    assert r["totals"]["listings"]["removals_by_reason"]["fulfilled"] == 2
