"""Every write of the registry is a leaf, in the write's own transaction, and tampering with
the rows behind the leaves is caught, by ``log verify`` or by a witness, naming what.

The registry here is real (ingest, an objection filed, assigned and decided, notices planned
and a letter served, relying parties and keys, the subject's file read); the tampering is
what an operator with the database could do with sqlite3 or psql. Both backends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, text
from tests.integration.dueprocess_support import Clock, ingest, make_registry, person_id

from socialcredit.domain import dueprocess as dp
from socialcredit.dueprocess import assignment, decisions, delivery, objections, outbox
from socialcredit.dueprocess.subject_access import own_file
from socialcredit.errors import InvalidInput
from socialcredit.integrity import (
    Witness,
    WitnessAlarm,
    consistency_proof,
    log_key,
    log_rows,
    sign_head,
    tree_size,
    verify_stored,
)
from socialcredit.integrity.note import load_or_create_key
from socialcredit.integrity.store import store_subtrees
from socialcredit.runtime.registry import Registry
from socialcredit.screening.parties import add_party, revoke_key
from socialcredit.store.tables_integrity import log_heads, log_leaves, log_nodes, log_tiles

PASSENGER = person_id("110105", "19850315", "215")
OTHER = person_id("110108", "19900101", "033")


@pytest.fixture
def reg(db_url: str, tmp_path: Path) -> Iterator[Registry]:
    clock = Clock(now=None)  # type: ignore[arg-type]
    clock.set_day("2026-10-09")
    r = make_registry(db_url, clock, 1)
    r.settings.log_key_file = tmp_path / "log-key.pem"
    air = {
        "authority": "CAAC",
        "case_number": "CAAC-2026-0920",
        "category": "air.smoking_or_devices",
        "subject_id": PASSENGER,
        "subject_name": "陈静",
        "decision_date": "2026-09-20",
        "legal_basis": "NDRC et al. 2018 No. 385, category A (8)",
    }
    other = {**air, "case_number": "CAAC-2026-0921", "subject_id": OTHER, "subject_name": "周洋"}
    ingest(r, [air, other], "2026-10-09")
    ended = {**other, "event": "withdrawn", "event_date": "2026-10-09", "reason": "listed_in_error"}
    ingest(r, [ended], "2026-10-09")
    yield r
    r.engine.dispose()


def _sign(reg: Registry) -> None:
    with reg.engine.begin() as conn:
        sign_head(conn, log_key(reg.settings), reg.now())


def _kinds(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, sum(length) FROM log_leaves GROUP BY kind"))
        return {str(k): int(n) for k, n in rows}


def _due_process(reg: Registry) -> int:
    """An objection filed, assigned, decided; notices planned; a letter served; staff acts;
    the subject's file read. Returns the case id."""
    assignment.add_reviewer(
        reg, dp.Reviewer("rv-1", "First reviewer", "registry", "first", None, True), "operator"
    )
    case = objections.file_objection(
        reg, PASSENGER, "CAAC", "CAAC-2026-0920", "wrong_data", "not me", [], "subject"
    )
    cid = int(case["id"])
    assignment.assign(reg, cid, "rv-1", "operator")
    decisions.decide(reg, cid, "rv-1", "rejected", "the record is right")
    assert outbox.plan(reg) > 0
    with reg.engine.connect() as conn:
        letter = conn.execute(text("SELECT min(id) FROM notices WHERE channel = 'letter'"))
        nid = int(letter.scalar_one())
    delivery.mark_letter(reg, nid, "delivered", "CAAC")
    issued = add_party(reg, "AIRCHINA", "Air China", ["flight"])
    revoke_key(reg, issued.prefix)
    own_file(reg, PASSENGER, None)
    return cid


def test_every_kind_of_write_is_a_leaf_and_the_untouched_log_verifies(reg: Registry) -> None:
    _due_process(reg)
    _sign(reg)
    kinds = _kinds(reg.engine)
    for kind in (
        "authority",
        "batch",
        "record",
        "record_event",
        "case",
        "notice",
        "reviewer",
        "audit",
        "relying_party",
        "api_key",
    ):
        assert kinds.get(kind, 0) > 0, (kind, kinds)
    v = verify_stored(reg.engine, reg.settings)
    assert v.ok, v.to_dict()
    assert v.rows_checked == v.leaves and not v.kinds_unchecked


def _edit_detected(reg: Registry, sql: str, kind: str, ref: object) -> None:
    _sign(reg)
    assert verify_stored(reg.engine, reg.settings).ok
    with reg.engine.begin() as conn:
        conn.exec_driver_sql(sql)
    v = verify_stored(reg.engine, reg.settings)
    assert not v.ok
    named = [str(b) for b in v.bad_leaves]
    assert any(f": {kind} {ref} was edited after it was logged" in b for b in named), named


def test_an_edited_record_is_named(reg: Registry) -> None:
    with reg.engine.connect() as conn:
        rid = conn.execute(text("SELECT id FROM records WHERE subject_id = :s"), {"s": PASSENGER})
        ref = int(rid.scalar_one())
    sql = f"UPDATE records SET legal_basis = 'none' WHERE id = {ref}"
    _edit_detected(reg, sql, "record", ref)


def test_an_edited_record_event_is_named(reg: Registry) -> None:
    with reg.engine.connect() as conn:
        ref = int(conn.execute(text("SELECT max(id) FROM record_events")).scalar_one())
    sql = f"UPDATE record_events SET reason = 'never happened' WHERE id = {ref}"
    _edit_detected(reg, sql, "record_event", ref)


def test_an_edited_case_decision_is_named(reg: Registry) -> None:
    cid = _due_process(reg)
    sql = f"UPDATE cases SET outcome = 'upheld' WHERE id = {cid}"
    _edit_detected(reg, sql, "case", cid)


def test_an_edited_audit_entry_is_named(reg: Registry) -> None:
    _due_process(reg)
    with reg.engine.connect() as conn:
        seq = int(conn.execute(text("SELECT min(seq) FROM audit_log")).scalar_one())
    _edit_detected(reg, f"UPDATE audit_log SET actor = 'nobody' WHERE seq = {seq}", "audit", seq)


def test_newest_leaves_deleted_are_named_as_cut_off(reg: Registry) -> None:
    _due_process(reg)
    _sign(reg)
    with reg.engine.begin() as conn:
        n = tree_size(conn)
        last = conn.execute(select(log_leaves).order_by(log_leaves.c.idx.desc()).limit(1)).one()
        conn.execute(delete(log_leaves).where(log_leaves.c.idx == last.idx))
    v = verify_stored(reg.engine, reg.settings)
    assert v.truncated and not v.ok
    cut = f"leaves {last.idx}..{n - 1} were cut off"
    assert any(cut in p for p in v.problems), v.problems


def test_a_history_rewritten_whole_and_signed_by_another_key(reg: Registry, tmp_path: Path) -> None:
    """Rows edited, every leaf and subtree recomputed, the heads replaced by one signed with
    a new key: consistent in itself. ``log verify`` with the published key names the head;
    the witness that saw the old history refuses the new one."""
    published = log_key(reg.settings).vkey()
    w = Witness.open(tmp_path / "witness.json")
    _sign(reg)
    with reg.engine.connect() as conn:
        head = conn.execute(select(log_heads).order_by(log_heads.c.id.desc())).first()
        assert head is not None
    w.observe(head.checkpoint, [], log_vkey=published)
    # the rewrite: edit a record, then rebuild the whole log from the rows as they now are
    with reg.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE records SET legal_basis = 'rewritten'")
        entries = conn.execute(select(log_leaves).order_by(log_leaves.c.idx)).all()
        for table in (log_heads, log_nodes, log_tiles, log_leaves):
            conn.execute(delete(table))
        for e in entries:
            refs = [int(e.ref_num) + j for j in range(e.length)] if e.length > 1 else [e.ref]
            log_rows(conn, e.kind, refs)
        store_subtrees(conn, 0, tree_size(conn))
        other = load_or_create_key(tmp_path / "other.pem", "socialcredit.registry.invalid/log")
        forged = sign_head(conn, other, reg.now())
    v = verify_stored(reg.engine, reg.settings, published)
    assert not v.ok and not v.bad_leaf_count  # every row agrees with its (new) leaf
    assert any("signature" in p or "key" in p for p in v.problems), v.problems
    with reg.engine.connect() as conn:
        proof = consistency_proof(conn, min(head.size, forged.size), forged.size)
    with pytest.raises(WitnessAlarm):
        w.observe(forged.checkpoint, proof, log_vkey=published)
    st = w.state()
    assert st is not None and st.size == head.size  # it keeps what it saw


def test_the_retired_audit_head_is_a_clear_422_not_a_500(reg: Registry) -> None:
    from socialcredit.integrity import audit

    with pytest.raises(InvalidInput) as e:
        audit.verify(reg.engine, reg.settings, "abc")
    assert e.value.status == 422 and "retired" in e.value.message


def test_the_subject_file_and_notices_say_where_each_record_is_logged(reg: Registry) -> None:
    _sign(reg)
    f = own_file(reg, PASSENGER, None)
    rec = f["records"][0]
    assert rec["log"]["kind"] == "record" and rec["log"]["included_in_head"] is True
    assert f["transparency_log"]["head"]["size"] > rec["log"]["leaf"]
    assert outbox.plan(reg) > 0
    with reg.engine.connect() as conn:
        body = conn.execute(
            text("SELECT body_text FROM notices WHERE subject_id = :s"), {"s": PASSENGER}
        ).scalar_one()
    assert f"is leaf {rec['log']['leaf']} of the registry's public transparency log" in body
    assert f"socialcredit log prove {rec['log']['leaf']}" in body
    assert json.dumps(f)  # JSON-ready


def test_nothing_logged_is_left_to_a_later_transaction(reg: Registry) -> None:
    """A failed write leaves neither the row nor its leaf."""
    with reg.engine.connect() as conn:
        n0 = tree_size(conn)
    with pytest.raises(Exception):  # noqa: B017, PT011
        objections.file_objection(
            reg, PASSENGER, "CAAC", "NO-SUCH-CASE", "wrong_data", "x", [], "subject"
        )
    with reg.engine.connect() as conn:
        assert tree_size(conn) == n0


def test_audit_verify_over_http_is_the_log_and_an_old_head_is_a_422(reg: Registry) -> None:
    import warnings

    from tests.integration.dueprocess_support import AUTH

    from socialcredit.web.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    _sign(reg)
    api = TestClient(create_app(reg))
    bad = api.get("/v1/audit/verify", params={"head": "abc"}, headers=AUTH)
    assert bad.status_code == 422, bad.text
    assert "retired" in bad.json()["message"] and "log verify" in bad.json()["message"]
    ok = api.get("/v1/audit/verify", headers=AUTH)
    assert ok.status_code == 200 and ok.json()["ok"] is True, ok.text


def test_the_transparency_report_carries_the_years_last_head_and_each_months(
    reg: Registry,
) -> None:
    from socialcredit.reports.figures import build_report
    from socialcredit.reports.render import to_html

    _sign(reg)
    with reg.engine.connect() as conn:
        size = tree_size(conn)
    r = build_report(reg, 2026)
    log = r["transparency_log"]
    assert log["last_head"]["size"] == size
    months = {m["month"]: m["head"] for m in log["monthly_heads"]}
    assert months["2026-10"]["size"] == size and months["2026-09"] is None
    page = to_html(r)
    assert 'id="log"' in page and log["last_head"]["root"] in page
