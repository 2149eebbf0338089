"""The citizen portal in Chromium at phone size, in Chinese and in English: the code printed in
the letter, sign-in, the file, an objection with evidence, the reviewer upholding it (the
existing CLI), the decision on the portal, and an ``allow`` at the point of sale (the screening
API); axe on every portal page; screenshots of each page in Chinese (``make screens``).

The module's server (``portal_server``) is a real ``socialcredit serve`` over a fresh registry
with two listed people without an email address (so their notices are letters carrying a
code), a reviewer and an airline. Records were decided 60 days ago: the flight restriction is
in force, so the journey starts with a ``deny``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import PHONE
from tests.e2e.accounts_support import OPERATOR_TOKEN, Server, running_server
from tests.e2e.conftest import person_id

pytestmark = pytest.mark.browser
Axe = Callable[[Page], None]

LIU = person_id("110105", "19860214", "031")  # the Chinese journey
MA = person_id("310115", "19910708", "056")  # the English journey
NAMES = {LIU: "刘洋", MA: "马丽"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Overrides the staff pages' server: this module's registry has citizens and an airline."""
    tmp = tmp_path_factory.mktemp("portal")
    with running_server(f"sqlite:///{tmp / 'registry.db'}", tmp) as s:
        decided = (dt.date.today() - dt.timedelta(days=60)).isoformat()
        rows = [
            {
                "authority": "CAAC",
                "case_number": f"CAAC-PORTAL-{i}",
                "category": "air.smoking_or_devices",
                "subject_id": sid,
                "subject_name": NAMES[sid],
                "decision_date": decided,
                "legal_basis": "NDRC et al. 2018 No. 385, category A (8)",
            }
            for i, sid in enumerate((LIU, MA))
        ]
        batch = tmp / "batch.jsonl"
        batch.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        for args in (
            ("ingest", str(batch)),
            ("reviewer", "add", "rv", "--name", "审查员", "--body", "registry", "--level", "first"),
            ("notices", "work", "--once"),
        ):
            r = s.cli(*args)
            assert r.returncode == 0, r.stdout + r.stderr
        r = s.cli("party", "add", "AIR-T", "--name", "测试航空", "--sector", "flight", "--json")
        assert r.returncode == 0, r.stderr
        s.env["TEST_AIRLINE_KEY"] = json.loads(r.stdout)["api_key"]
        # The running server reads new keys with its key table, every second
        # (screening/service.py KEYS_RELOAD_S): the first screening must not race it.
        time.sleep(2.5)
        yield s


def letter_code(server: Server, subject_id: str) -> str:
    """The code printed in the subject's latest letter, as the serving authority prints it."""
    r = server.cli("notices", "list", "--subject", subject_id, "--json")
    notice = json.loads(r.stdout)[-1]
    assert notice["channel"] == "letter"
    html = httpx.get(
        f"{server.base}/v1/notices/{notice['id']}/letter",
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    ).text
    found = re.search(r'class="code">(\d{6})<', html)
    assert found, html
    return found.group(1)


def screen(server: Server, subject_id: str) -> str:
    r = httpx.post(
        f"{server.base}/v1/screenings",
        headers={"X-API-Key": server.env["TEST_AIRLINE_KEY"]},
        json={
            "subject_id": subject_id,
            "name": NAMES[subject_id],
            "sector": "flight",
            "purpose": "ticket sale",
        },
    )
    assert r.status_code == 200, r.text
    return str(r.json()["decision"])


def shot(page: Page, screens_dir: Path, name: str, lang: str) -> None:
    if lang == "zh":
        page.screenshot(path=screens_dir / f"portal-{name}-375.png", full_page=True)


@pytest.mark.parametrize(("lang", "subject_id"), [("zh", LIU), ("en", MA)])
def test_letter_code_to_objection_upheld_to_allow_and_screenshots(
    server: Server,
    new_context: Callable[..., BrowserContext],
    axe: Axe,
    screens_dir: Path,
    lang: str,
    subject_id: str,
) -> None:
    zh = lang == "zh"

    def t(chinese: str, english: str) -> str:
        return chinese if zh else english

    page = new_context(PHONE, "zh-CN" if zh else "en-US").new_page()
    assert screen(server, subject_id) == "deny"
    code = letter_code(server, subject_id)

    page.goto("/me")
    expect(page).to_have_url(re.compile("/me/signin$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans" if zh else "en")
    axe(page)
    shot(page, screens_dir, "signin", lang)
    # A wrong code first: a clear message, in the page's language, and nothing else.
    page.get_by_label(t("身份证号码", "ID number")).first.fill(subject_id)
    page.get_by_label(t("一次性验证码（6 位数字）", "One-time code (6 digits)")).fill("000000")
    page.get_by_role("button", name=t("登录", "Sign in"), exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(t("验证码错误", "The code is wrong"))
    axe(page)
    page.get_by_label(t("一次性验证码（6 位数字）", "One-time code (6 digits)")).fill(code)
    page.get_by_role("button", name=t("登录", "Sign in"), exact=True).click()

    expect(page).to_have_url(re.compile("/me/file$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("我的信用档案", "My credit file"))
    expect(page.get_by_text(NAMES[subject_id]).first).to_be_visible()
    expect(page.get_by_text(t("乘坐民航飞机", "Civil aviation tickets")).first).to_be_visible()
    axe(page)
    shot(page, screens_dir, "file", lang)

    page.get_by_role("link", name=t("对此记录提出异议", "Object to this record")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("对记录提出异议", "Object to a record")
    )
    axe(page)
    page.get_by_label(t("该记录与我无关", "The record is not about me")).check()
    page.get_by_label(t("请用您自己的话说明哪里有误", "What is wrong, in your own words")).fill(
        t("当天我不在那趟航班上。", "I was not on that flight.")
    )
    files = page.locator("#files")
    # A mistyped file first: refused with its name, nothing filed.
    files.set_input_files([{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"MZ"}])
    page.get_by_role("button", name=t("提交异议", "File the objection")).click()
    expect(page.get_by_role("alert")).to_contain_text("scan.pdf")
    axe(page)
    shot(page, screens_dir, "object-refused", lang)
    page.get_by_label(t("该记录与我无关", "The record is not about me")).check()
    page.locator("#files").set_input_files(
        [{"name": "boarding.png", "mimeType": "image/png", "buffer": PNG}]
    )
    shot(page, screens_dir, "object", lang)
    page.get_by_role("button", name=t("提交异议", "File the objection")).click()

    expect(page).to_have_url(re.compile(r"/me/cases/\d+\?filed=1$"))
    expect(page.get_by_role("status")).to_be_visible()
    expect(page.get_by_role("link", name="boarding.png")).to_be_visible()
    axe(page)
    shot(page, screens_dir, "case", lang)
    case_id = re.search(r"/me/cases/(\d+)", page.url).group(1)  # type: ignore[union-attr]

    # The reviewer upholds it with the existing CLI; the portal shows it; the airline may sell.
    r = server.cli(
        "case",
        "decide",
        case_id,
        "--reviewer",
        "rv",
        "--outcome",
        "upheld",
        "--reasons",
        "Not the same person.",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    page.reload()
    expect(page.locator("#case-state")).to_have_text(t("已支持", "upheld"))
    axe(page)
    deadline = dt.datetime.now() + dt.timedelta(seconds=5)
    while screen(server, subject_id) != "allow":  # the index hears of it within a second
        assert dt.datetime.now() < deadline, "still denied 5 s after the objection was upheld"

    page.goto("/me/file")
    expect(page.get_by_text(t("撤销日期", "Withdrawn on"))).to_be_visible()
    axe(page)
    shot(page, screens_dir, "file-after", lang)


def test_repair_page_sign_out_and_screenshots(
    server: Server, new_context: Callable[..., BrowserContext], axe: Axe, screens_dir: Path
) -> None:
    page = new_context(PHONE, "zh-CN").new_page()
    page.goto("/me/signin")
    page.get_by_label("身份证号码").first.fill(LIU)
    page.get_by_label("一次性验证码（6 位数字）").fill(letter_code(server, LIU))
    page.get_by_role("button", name="登录", exact=True).click()
    page.goto("/me/repair?authority=CAAC&case_number=CAAC-PORTAL-0")
    expect(page.get_by_role("heading", level=1)).to_have_text("申请信用修复")
    axe(page)
    shot(page, screens_dir, "repair", "zh")
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile("/me/signin\\?out=1$"))
    page.goto("/me/file")
    expect(page).to_have_url(re.compile("/me/signin$"))
