"""Staff pages in Chromium at phone size: sign-in in Chinese and English, lockout, two-step
sign-in, an operator adding a clerk, sign-out, the language switch; axe on every page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import DESKTOP, PHONE
from tests.e2e.accounts_support import PASSWORD, Server

pytestmark = pytest.mark.browser
Axe = Callable[[Page], None]


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label(re.compile("用户名|User name")).fill(username)
    page.get_by_label(re.compile("^(密码|Password)$")).fill(password)
    page.get_by_role("button", name=re.compile("^(登录|Sign in)$")).click()


def test_the_axe_check_sees_violations(page: Page, axe: Axe) -> None:
    """The helper is no rubber stamp: a page with an unlabelled field and no lang fails it."""
    page.set_content("<html><body><input type='text'><img src='x.png'></body></html>")
    with pytest.raises(AssertionError, match="image-alt|label|html-has-lang"):
        axe(page)


def test_sign_in_in_chinese(server: Server, page: Page, axe: Axe) -> None:
    server.add_user("zh.official", "official", "--name", "张伟")
    page.goto("/login")
    expect(page).to_have_title(re.compile("工作人员登录"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    axe(page)
    sign_in(page, "zh.official")
    expect(page).to_have_url(re.compile("/account$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("我的账户")
    expect(page.get_by_text("统计查阅员")).to_be_visible()
    axe(page)


def test_sign_in_in_english(
    server: Server, new_context: Callable[..., BrowserContext], axe: Axe
) -> None:
    server.add_user("en.official", "official", "--name", "Li Na")
    page = new_context(PHONE, "en-US").new_page()
    page.goto("/login")
    expect(page).to_have_title(re.compile("Staff sign-in"))
    sign_in(page, "en.official")
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    expect(page.get_by_role("button", name="Sign out (Li Na)")).to_be_visible()
    axe(page)


def test_wrong_passwords_lock_the_account(server: Server, page: Page, axe: Axe) -> None:
    server.add_user("lock.me", "official")
    for _ in range(5):
        sign_in(page, "lock.me", "wrong password")
        expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    axe(page)
    sign_in(page, "lock.me")  # the right password, too late
    expect(page.get_by_role("alert")).to_contain_text("该账户已被锁定")
    expect(page).to_have_url(re.compile("/login$"))
    axe(page)


def test_totp_enrolment_then_sign_in_with_the_code(server: Server, page: Page, axe: Axe) -> None:
    server.add_user("two.step", "reviewer", "--review-body", "registry", "--review-level", "first")
    sign_in(page, "two.step")
    page.get_by_role("button", name="设置两步登录").click()
    secret = page.locator("#totp-secret").inner_text().strip()
    assert (
        page.locator("#totp-uri")
        .get_attribute("href", timeout=5000)
        .startswith("otpauth://totp/socialcredit:two.step?secret=" + secret)
    )
    axe(page)
    totp = pyotp.TOTP(secret)
    page.get_by_label("应用显示的验证码").fill(totp.at(time.time()))
    page.get_by_role("button", name="开启两步登录").click()
    expect(page.get_by_role("status")).to_contain_text("两步登录已开启")
    page.get_by_role("button", name=re.compile("^退出登录")).click()
    sign_in(page, "two.step")
    expect(page).to_have_url(re.compile("/login/totp"))
    axe(page)
    page.get_by_label(re.compile("6 位验证码")).fill("000000")
    page.get_by_role("button", name="确认").click()
    expect(page.get_by_role("alert")).to_contain_text("验证码错误或已使用过")
    page.get_by_label(re.compile("6 位验证码")).fill(totp.at(time.time() + 30))  # the next code
    page.get_by_role("button", name="确认").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的账户")


def test_an_operator_adds_a_clerk_who_then_signs_in(
    server: Server, page: Page, new_context: Callable[..., BrowserContext], axe: Axe
) -> None:
    sign_in(page, "op")
    page.get_by_role("link", name="用户管理").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("用户管理")
    axe(page)
    page.get_by_label(re.compile("^用户名")).fill("caac.li")
    page.get_by_label("姓名").fill("李文")
    page.get_by_label("角色").select_option("clerk")
    page.get_by_label(re.compile("^管辖范围")).fill("CAAC")
    page.get_by_role("button", name="添加用户").click()
    expect(page.get_by_role("status")).to_contain_text("已添加用户 caac.li")
    one_time = page.locator("#one-time-password").inner_text().strip()
    expect(page.get_by_role("cell", name="CAAC", exact=True)).to_be_visible()
    axe(page)

    clerk = new_context(PHONE).new_page()
    sign_in(clerk, "caac.li", one_time)
    expect(clerk.get_by_role("status")).to_contain_text("您正在使用一次性密码")
    clerk.get_by_label("当前密码").fill(one_time)
    clerk.get_by_label(re.compile("^新密码（")).fill("a new password 123")
    clerk.get_by_label("再次输入新密码").fill("a new password 123")
    clerk.get_by_role("button", name="修改密码").click()
    expect(clerk.get_by_role("status")).to_contain_text("您的密码已修改")
    clerk.goto("/admin/users")  # not for a clerk
    expect(clerk.get_by_role("heading", level=1)).to_have_text("无权访问")
    axe(clerk)

    page.get_by_role("button", name="停用 caac.li").click()
    expect(page.get_by_role("row", name=re.compile("caac.li"))).to_contain_text("已停用")
    clerk.goto("/account")
    expect(clerk).to_have_url(re.compile("/login"))


def test_sign_out(server: Server, page: Page) -> None:
    server.add_user("bye.staff", "official")
    sign_in(page, "bye.staff")
    page.get_by_role("button", name=re.compile("^退出登录")).click()
    expect(page.get_by_role("status")).to_have_text("您已退出登录。")
    page.goto("/account")
    expect(page).to_have_url(re.compile("/login\\?next=/account"))


def test_the_language_switch(server: Server, page: Page, axe: Axe) -> None:
    page.goto("/login")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff sign-in")
    axe(page)
    page.get_by_role("link", name="简体中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("工作人员登录")


def test_the_skip_link_reaches_the_content(server: Server, page: Page) -> None:
    page.goto("/login")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="跳到正文")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#main$"))


def test_screenshots_of_each_page(
    server: Server, new_context: Callable[..., BrowserContext], screens_dir: Path
) -> None:
    """Each page in Chinese at 375 px and at desktop width (``make screens`` keeps them in
    docs/screens/; otherwise they go to a temporary directory)."""
    for size, viewport in (("375", PHONE), ("desktop", DESKTOP)):
        clerk_name = f"shot.clerk{size}"
        server.add_user(clerk_name, "clerk", "--authority", "CAAC", "--name", "李文")
        page = new_context(viewport).new_page()

        def shot(p: Page, name: str, heading: str, size: str = size) -> None:
            expect(p.get_by_role("heading", level=1)).to_have_text(heading)
            p.screenshot(path=screens_dir / f"{name}-{size}.png", full_page=True)

        page.goto("/login")
        shot(page, "login", "工作人员登录")
        sign_in(page, "op")
        shot(page, "account", "我的账户")
        page.goto("/admin/users")
        shot(page, "users", "用户管理")
        clerk = new_context(viewport).new_page()
        sign_in(clerk, clerk_name)
        clerk.get_by_role("button", name="设置两步登录").click()
        expect(clerk.locator("#totp-secret")).to_be_visible()
        shot(clerk, "account-totp", "我的账户")
        clerk.goto("/admin/users")
        shot(clerk, "forbidden", "无权访问")
        clerk.context.clear_cookies()
        sign_in(clerk, clerk_name, "wrong password")
        expect(clerk.get_by_role("alert")).to_be_visible()
        shot(clerk, "login-error", "工作人员登录")
    assert len(list(screens_dir.glob("*-375.png"))) == 6
