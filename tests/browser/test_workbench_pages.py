"""The workbenches in Chromium at phone size, in Chinese (issue 12): a clerk uploads a file
with a bad line and reads it; a reviewer decides; a counter clerk screens a listed and an
unlisted ID with the keyboard only; an official watches a number move when records are
ingested; the public register. axe on every page; screenshots in docs/screens/ with
``make screens`` (``-k screenshots`` also selects the journeys: they take them)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.test_accounts_pages import sign_in
from tests.e2e.accounts_support import OPERATOR_TOKEN, Server
from tests.e2e.conftest import person_id
from tests.e2e.workbench_support import LISTED, OTHER, SMOKER, bearer, jsonl, line, staff

pytestmark = pytest.mark.browser
Axe = Callable[[Page], None]
OP = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@dataclass
class World:
    srv: Server
    tokens: dict[str, str]
    case_id: int


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    tok = staff(server)
    body = jsonl(
        line("CAAC", "CAAC-2026-0500", LISTED, "王建国"),
        line("CAAC", "CAAC-2026-0501", OTHER, "陈静"),
    )
    r = httpx.post(f"{server.base}/v1/batches", content=body, headers=bearer(tok["caac.clerk"]))
    assert r.status_code == 201, r.text
    rail = jsonl(line("CR", "CR-2026-0500", SMOKER, "李娜"))
    r = httpx.post(f"{server.base}/v1/batches", content=rail, headers=bearer(tok["cr.clerk"]))
    assert r.status_code == 201, r.text
    assert (
        server.cli(
            "party", "add", "TEST-AIR", "--name", "测试航空", "--sector", "flight"
        ).returncode
        == 0
    )
    obj = httpx.post(
        f"{server.base}/v1/objections",
        json={
            "subject_id": OTHER,
            "authority": "CAAC",
            "case_number": "CAAC-2026-0501",
            "grounds": "not_me",
            "statement": "当日我在外地出差，有住宿发票为证。",
            "documents": ["住宿发票 2026-05-01"],
        },
        headers=OP,
    )
    assert obj.status_code == 201, obj.text
    return World(server, tok, int(obj.json()["id"]))


def shot(page: Page, name: str) -> None:
    """A small screenshot (the phone's first screen) kept only by ``make screens``."""
    target = os.environ.get("SOCIALCREDIT_SCREENS_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(target) / f"{name}-375.png")


def test_clerk_uploads_a_file_with_a_bad_line_and_sees_it(
    world: World, page: Page, axe: Axe, tmp_path: Path
) -> None:
    bad = LISTED[:-1] + ("0" if LISTED[-1] != "0" else "1")
    f = tmp_path / "六月.jsonl"
    f.write_bytes(
        jsonl(
            line("CAAC", "CAAC-2026-0510", person_id("320102", "19850303", "468"), "周敏"),
            line("CAAC", "CAAC-2026-0511", bad, "赵强"),
        )
    )
    sign_in(page, "caac.clerk")
    page.goto("/clerk")
    expect(page.get_by_role("heading", level=1)).to_have_text("报送记录（CAAC）")
    axe(page)
    shot(page, "workbench-clerk")
    page.locator("#file").set_input_files(str(f))
    page.get_by_role("button", name="上传并导入").click()
    expect(page.locator("#state")).to_contain_text("共 2 行，接收 1 行", timeout=20_000)
    errors = page.locator("#errors")
    expect(errors).to_contain_text("subject_id")
    expect(errors.get_by_role("cell").first).to_have_text("2")
    axe(page)
    shot(page, "workbench-upload")
    # The batch page reads the kept problems from the database, not the upload's memory.
    page.get_by_role("link", name=re.compile("全部已保存的问题")).click()
    expect(page.locator("#kept-note")).to_contain_text("所有问题均已保存")
    expect(page.locator("#errors")).to_contain_text(bad)
    axe(page)
    page.get_by_role("link", name="返回报送页面").click()
    expect(page.locator("#main table")).to_contain_text("CAAC/六月.jsonl")


def test_reviewer_decides(world: World, page: Page, axe: Axe) -> None:
    sign_in(page, "reg.reviewer")
    page.goto("/review")
    expect(page.get_by_role("heading", level=1)).to_have_text("待办案件（registry/first）")
    axe(page)
    shot(page, "workbench-queue")
    page.get_by_role("link", name=f"案件 {world.case_id}").click()
    expect(page.locator("#statement")).to_contain_text("住宿发票")
    expect(page.locator("#legal-basis")).to_contain_text("NDRC")
    axe(page)
    shot(page, "workbench-case")
    page.get_by_label("异议成立：撤销或更正记录").check()
    page.get_by_label("决定理由（将送达当事人）").fill("住宿发票证明当事人当日不在现场，记录撤销。")
    page.get_by_role("button", name="提交决定").click()
    expect(page.locator("#decided")).to_contain_text(f"案件 {world.case_id} 已作出决定")
    axe(page)


def test_counter_clerk_screens_with_the_keyboard_only(world: World, page: Page, axe: Axe) -> None:
    sign_in(page, "air.clerk")
    page.goto("/counter")
    axe(page)
    id_field = page.get_by_label("证件号码或统一社会信用代码（按证件填写）")
    expect(id_field).to_be_focused()  # autofocus: the clerk starts typing at once

    def check(sid: str, name: str) -> None:
        expect(id_field).to_be_focused()
        page.keyboard.type(sid)
        page.keyboard.press("Tab")
        page.keyboard.type(name)
        page.keyboard.press("Tab")  # the sector: flight, the party's only one
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="核查")).to_be_focused()
        page.keyboard.press("Enter")

    check(LISTED, "王建国")
    answer = page.locator("#answer")
    expect(answer).to_contain_text("不得售票")
    expect(page.locator("#screening-id")).to_have_text(re.compile(r"^[0-9a-f-]{36}$"))
    assert "王建国" not in page.content() and LISTED not in page.content()
    axe(page)
    shot(page, "workbench-counter-deny")
    check(SMOKER, "李娜")  # listed for rail only: may fly
    expect(answer).to_contain_text("可以售票")
    axe(page)
    shot(page, "workbench-counter-allow")


def test_official_watches_a_number_move(world: World, page: Page, axe: Axe) -> None:
    # What this module's earlier tests filed today, read rather than assumed, so the test
    # holds when it runs alone (``-k``) as well as after the clerk's upload.
    engine = sa.create_engine(world.srv.env["SOCIALCREDIT_DATABASE_URL"])
    with engine.connect() as conn:  # every record here was filed today
        before = conn.execute(sa.text("SELECT count(*) FROM records")).scalar_one()
    engine.dispose()
    assert before < 10
    sign_in(page, "watcher")
    page.goto("/dashboard")
    figure = page.locator("[data-figure=new_listings_today]")
    expect(figure).to_have_text("少于 10")  # fewer than 10 records so far today: withheld
    # Removals by reason, expiries among them (reports/today.py): nobody removed today.
    expect(page.locator("#removals-by-reason")).to_contain_text("期限届满")
    expect(page.locator("[data-reason=expired]")).to_have_text("0")
    axe(page)
    shot(page, "workbench-dashboard")
    rows = [
        line("CAAC", f"CAAC-2026-06{i:02d}", person_id("110105", "19700101", f"{i:03d}"), "张伟")
        for i in range(12)
    ]
    r = httpx.post(
        f"{world.srv.base}/v1/batches",
        content=jsonl(*rows),
        headers=bearer(world.tokens["caac.clerk"]),
    )
    assert r.status_code == 201 and r.json()["accepted"] == 12, r.text
    # pushed: the page was not reloaded
    expect(figure).to_have_text(str(before + 12), timeout=15_000)
    assert "张伟" not in page.content()


def test_the_public_register(world: World, page: Page, axe: Axe) -> None:
    page.goto("/register")
    axe(page)
    page.get_by_label("完整姓名或完整证件号码").fill("李娜")
    page.get_by_role("button", name="查询").click()
    results = page.locator("#results")
    expect(results).to_contain_text("CR-2026-0500")
    expect(results).to_contain_text(SMOKER[:4] + "**********" + SMOKER[-4:])
    assert SMOKER not in page.content()
    axe(page)
    shot(page, "workbench-register")


def test_the_register_and_the_dashboard_in_english(world: World, page: Page, axe: Axe) -> None:
    """The language switch on the public register and the officials' dashboard: the same
    answers, in English, and axe passes on both."""
    page.goto("/register")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Full name or full ID").fill("李娜")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results")).to_contain_text("CR-2026-0500")
    axe(page)
    sign_in(page, "watcher")
    page.goto("/dashboard")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#removals-by-reason")).to_contain_text("Term expired")
    axe(page)
    page.get_by_role("link", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
