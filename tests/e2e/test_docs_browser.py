"""The API docs as a developer sees them: ``/docs`` in Debian's Chromium, driven by Playwright.

- ``server``: ``socialcredit serve`` on a free loopback port over a fresh registry (as in
  ``test_http.py``).
- ``page``: a Chromium page that records console messages, page errors and every request:
  a content security policy violation is a console error. The policy is the one the app
  sends for ``/docs`` (``web/csp.py:DOCS_POLICY``: scripts and styles from 'self' only).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import CLI
from tests.e2e.test_http import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium)",
)


@pytest.fixture
def server(registry_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [CLI, "serve", "--port", str(port)],
        env=registry_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pg = browser.new_page(viewport={"width": 1200, "height": 1000})
        pg.console = []
        pg.requested = []
        pg.on("console", lambda m: pg.console.append(f"{m.type}: {m.text}"))
        pg.on("pageerror", lambda e: pg.console.append(f"pageerror: {e}"))
        pg.on("request", lambda r: pg.requested.append(r.url))
        yield pg
        browser.close()


def test_docs_render_every_operation_under_a_strict_csp(server: str, page: Any) -> None:
    doc = httpx.get(f"{server}/openapi.json").json()
    ops = [(m.upper(), p) for p, item in doc["paths"].items() for m in item]
    policy = page.goto(f"{server}/docs").headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    page.wait_for_selector(".opblock", timeout=30_000)
    text = page.inner_text("body")
    assert "Unable to render" not in text
    # an operation with two tags is drawn under each: compare the set of (method, path)
    rendered = page.eval_on_selector_all(
        ".opblock",
        "els => els.map(e => [e.querySelector('.opblock-summary-method').textContent,"
        " e.querySelector('.opblock-summary-path').getAttribute('data-path')])",
    )
    assert {(m, p) for m, p in rendered} == set(ops)
    for method, path in [("POST", "/v1/screenings"), ("GET", "/v1/subjects/{subject_id}")]:
        block = page.locator(f".opblock-{method.lower()}", has_text=path).first
        assert block.is_visible()
    assert not [m for m in page.console if m.startswith(("error", "pageerror"))], page.console
    # nothing fetched from anywhere but this server
    assert all(u.startswith((server, "data:")) for u in page.requested)


def test_authorize_offers_each_credential(server: str, page: Any) -> None:
    page.goto(f"{server}/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    page.click("button.authorize")
    dialog = page.locator(".dialog-ux")
    dialog.wait_for()
    text = dialog.inner_text()
    for scheme in ("operator", "subjectSession", "relyingPartyKey", "relyingPartyBearer"):
        assert scheme in text, text
    # the operator token, entered once, is sent with a call made from the page
    box = page.locator(".auth-container", has_text="operator").locator("input")
    box.fill("test-operator-token")
    page.locator(".auth-container", has_text="operator").locator("button.authorize").click()
    page.locator(".dialog-ux button.close-modal").click()
    op = page.locator(".opblock-get", has_text="/v1/screening/status").first
    op.click()
    page.locator("button.try-out__btn").first.click()
    with page.expect_request(lambda r: r.url.endswith("/v1/screening/status")) as req:
        page.locator("button.execute").first.click()
    assert req.value.headers.get("authorization") == "Bearer test-operator-token"
