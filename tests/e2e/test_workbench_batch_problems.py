"""A clerk's per-line errors outlive the server (issue 12, item 1): uploaded over the API and
from the page, read back after a restart through ``GET /v1/batches/{id}``, the batch page,
the upload page and ``socialcredit batch show``; another authority's clerk learns nothing."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from tests.e2e.accounts_support import csrf_of, running_server, sign_in
from tests.e2e.workbench_support import LISTED, SMOKER, bearer, jsonl, line, staff


def _bad(sid: str) -> str:
    return sid[:-1] + ("0" if sid[-1] != "0" else "1")


def test_errors_survive_a_restart_and_stay_with_the_authority(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    body = jsonl(
        line("CAAC", "CAAC-R-1", LISTED, "王建国"),
        line("CAAC", "CAAC-R-2", _bad(LISTED), "赵强"),
        line("CAAC", "CAAC-R-3", _bad(SMOKER), "李娜"),
    )
    page_file = jsonl(line("CAAC", "CAAC-R-4", _bad(SMOKER), "周敏"))
    for d in ("one", "two"):
        (tmp_path / d).mkdir()
    with running_server(db, tmp_path / "one") as s:
        tok = staff(s)
        r = httpx.post(f"{s.base}/v1/batches", content=body, headers=bearer(tok["caac.clerk"]))
        assert r.status_code == 201, r.text
        batch_id = r.json()["batch_id"]
        with httpx.Client(base_url=s.base, follow_redirects=True, timeout=30) as c:
            sign_in(c, "caac.clerk")
            home = c.get("/clerk")
            up = c.post(
                "/clerk/upload",
                data={"csrf_token": csrf_of(home.text)},
                files={"file": ("七月.jsonl", page_file)},
            )
            assert up.status_code == 200, up.text
            upload_url = str(up.url)
            for _ in range(400):  # the upload is ingested in the background
                if 'id="errors"' in c.get(upload_url).text:
                    break
                time.sleep(0.05)
            shown = c.get(upload_url).text
            assert 'id="errors"' in shown and _bad(SMOKER) in shown
    with running_server(db, tmp_path / "two") as s:  # a new process: nothing in memory
        clerk, other, root = (bearer(tok[u]) for u in ("caac.clerk", "cr.clerk", "root"))
        got = httpx.get(f"{s.base}/v1/batches/{batch_id}", headers=clerk)
        assert got.status_code == 200, got.text
        pr = got.json()["problems"]
        assert pr["rejected_total"] == 2 and pr["kept_per_kind"] == 10_000
        assert [(p["line"], p["field"]) for p in pr["rejected"]] == [
            (2, "subject_id"),
            (3, "subject_id"),
        ]
        assert pr["rejected"][0]["value"] == _bad(LISTED)
        # Another authority's clerk: 404, and nothing of the batch in the answer.
        hidden = httpx.get(f"{s.base}/v1/batches/{batch_id}", headers=other)
        assert hidden.status_code == 404
        assert _bad(LISTED) not in hidden.text and "CAAC" not in hidden.text
        assert httpx.get(f"{s.base}/v1/batches", headers=other).json() == []
        # Other roles may not read batches; an operator reads every one.
        for who in ("reg.reviewer", "air.clerk", "watcher"):
            r = httpx.get(f"{s.base}/v1/batches/{batch_id}", headers=bearer(tok[who]))
            assert r.status_code == 403 and _bad(LISTED) not in r.text, who
        op = httpx.get(f"{s.base}/v1/batches/{batch_id}", headers=root)
        assert op.status_code == 200 and op.json()["problems"]["rejected_total"] == 2
        # The pages: the upload (its row, not the old process's memory) and the batch.
        with httpx.Client(base_url=s.base, follow_redirects=True, timeout=30) as c:
            sign_in(c, "caac.clerk")
            again = c.get(upload_url.removeprefix(upload_url.split("/clerk")[0]))
            assert again.status_code == 200 and _bad(SMOKER) in again.text
            page = c.get(f"/clerk/batches/{batch_id}").text
            assert 'id="errors"' in page and _bad(LISTED) in page and 'id="kept-note"' in page
            m = re.search(r'href="/clerk/batches/(\d+)"', again.text)
            assert m is not None
        with httpx.Client(base_url=s.base, follow_redirects=True, timeout=30) as c:
            sign_in(c, "cr.clerk")
            assert c.get(f"/clerk/batches/{batch_id}").status_code == 404
            assert c.get(upload_url.removeprefix(upload_url.split("/clerk")[0])).status_code == 404
        # The CLI.
        out = s.cli("batch", "show", str(batch_id))
        assert out.returncode == 0, out.stderr
        assert "problems: 2" in out.stdout and _bad(LISTED) in out.stdout
