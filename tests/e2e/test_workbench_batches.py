"""Authority submission over HTTP (issue 12, item 1): scoped to the clerk's authority, the
ingest service's per-line errors, idempotent, batch history, one event on one record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.accounts_support import Server, running_server
from tests.e2e.workbench_support import LISTED, OP, SMOKER, bearer, jsonl, line, staff


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("batches")
    with running_server(f"sqlite:///{tmp / 'registry.db'}", tmp) as s:
        yield s, staff(s)


def test_a_clerk_of_another_authority_is_refused_and_nothing_is_written(
    srv: tuple[Server, dict[str, str]],
) -> None:
    s, tok = srv
    body = jsonl(line("CAAC", "CAAC-X-1", LISTED, "王建国"), line("CR", "CR-X-1", SMOKER, "李娜"))
    r = httpx.post(f"{s.base}/v1/batches", content=body, headers=bearer(tok["caac.clerk"]))
    assert r.status_code == 403, r.text
    assert "CR" in r.json()["message"]
    for who in ("caac.clerk", "cr.clerk"):
        got = httpx.get(f"{s.base}/v1/batches", headers=bearer(tok[who])).json()
        assert all("X-1" not in b["source"] for b in got)
    f = httpx.get(f"{s.base}/v1/subjects/{SMOKER}", headers=OP)
    assert f.status_code == 404 or f.json()["records"] == []
    # Other roles may not file at all.
    for who in ("reg.reviewer", "air.clerk", "watcher", "root"):
        r = httpx.post(f"{s.base}/v1/batches", content=body, headers=bearer(tok[who]))
        assert r.status_code == 403, who
    assert httpx.post(f"{s.base}/v1/batches", content=body).status_code == 401


def test_a_batch_with_a_bad_line_then_again_then_history_and_an_event(
    srv: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    s, tok = srv
    clerk = bearer(tok["caac.clerk"])
    body = jsonl(
        line("CAAC", "CAAC-2026-0100", LISTED, "王建国"),
        line("CAAC", "CAAC-2026-0101", LISTED[:-1] + ("0" if LISTED[-1] != "0" else "1"), "赵强"),
    )
    r = httpx.post(
        f"{s.base}/v1/batches?filename=may.jsonl",
        content=body,
        headers={**clerk, "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["accepted"] == 1 and [p["line"] for p in rep["rejected"]] == [2]
    assert rep["source"] == "CAAC/may.jsonl"
    again = httpx.post(f"{s.base}/v1/batches?filename=may.jsonl", content=body, headers=clerk)
    assert again.status_code == 200 and again.json()["already_ingested"]
    assert again.json()["batch_id"] == rep["batch_id"]
    # Multipart, CSV: the same service.
    csv = "authority,case_number,category,subject_id,subject_name,decision_date,legal_basis\n"
    csv += f"CAAC,CAAC-2026-0102,air.prohibited_items,{SMOKER},李娜,2026-05-07,NDRC 385\n"
    m = httpx.post(
        f"{s.base}/v1/batches", files={"file": ("june.csv", csv.encode())}, headers=clerk
    )
    assert m.status_code == 201 and m.json()["accepted"] == 1, m.text
    hist = httpx.get(f"{s.base}/v1/batches", headers=clerk).json()
    assert [b["source"] for b in hist][:2] == ["CAAC/june.csv", "CAAC/may.jsonl"]
    assert httpx.get(f"{s.base}/v1/batches", headers=bearer(tok["cr.clerk"])).json() == []
    one = httpx.get(f"{s.base}/v1/batches/{rep['batch_id']}", headers=clerk).json()
    assert one["records"] == 1 and one["rejected"] == 1
    hidden = httpx.get(f"{s.base}/v1/batches/{rep['batch_id']}", headers=bearer(tok["cr.clerk"]))
    assert hidden.status_code == 404
    # One event on one record; the railway's clerk cannot touch CAAC's record.
    ev = {"case_number": "CAAC-2026-0100", "event": "fulfilled", "event_date": "2026-06-01"}
    cr = httpx.post(f"{s.base}/v1/records/events", json=ev, headers=bearer(tok["cr.clerk"]))
    assert cr.status_code == 201 and cr.json()["rejected"], cr.text  # not CR's case: rejected
    done = httpx.post(f"{s.base}/v1/records/events", json=ev, headers=clerk)
    assert done.status_code == 201 and done.json()["accepted"] == 1, done.text
    f = httpx.get(f"{s.base}/v1/subjects/{LISTED}", headers=OP).json()
    assert any(e["type"] == "fulfilled" for r in f["records"] for e in r.get("events", []))
    # The CLI reads the same history.
    out = s.cli("batch", "list", "--json")
    assert out.returncode == 0 and "CAAC/may.jsonl" in out.stdout, out.stderr
    shown = s.cli("batch", "show", str(rep["batch_id"]), "--json")
    assert shown.returncode == 0 and '"records": 1' in shown.stdout, shown.stderr
