"""Browser fixtures: Debian's Chromium driven by Playwright's sync API against a real server.

- ``server`` (per module): ``socialcredit serve`` on a free loopback port over a fresh SQLite
  registry (see ``tests/e2e/accounts_support.py``), with an operator ``op`` already added.
- ``browser`` (per module, in ``tests/conftest.py``: a Playwright stopped at each module's end,
  since its sync API keeps an event loop running in the main thread while it is open).
- ``phone``: a new 375x812 touch context in Chinese (``Accept-Language: zh-CN``), ``page`` a
  page in it; ``desktop``: 1280x800. Each test gets fresh contexts (no shared cookies).
- ``axe(page)``: runs axe-core (shipped inside ``axe-playwright-python``'s wheel: nothing is
  downloaded) and fails on any serious or critical violation, listing them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.e2e.accounts_support import Server, running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("browser")
    with running_server(f"sqlite:///{tmp / 'registry.db'}", tmp) as s:
        s.add_user("op", "operator", "--name", "管理员")
        yield s


def _context(
    browser: Browser, server: Server, viewport: dict[str, int], locale: str
) -> BrowserContext:
    return browser.new_context(
        base_url=server.base,
        viewport=viewport,
        locale=locale,
        is_mobile=viewport is PHONE,
        has_touch=viewport is PHONE,
        device_scale_factor=1,
    )


@pytest.fixture
def new_context(browser: Browser, server: Server) -> Iterator[Callable[..., BrowserContext]]:
    made: list[BrowserContext] = []

    def make(viewport: dict[str, int] = PHONE, locale: str = "zh-CN") -> BrowserContext:
        c = _context(browser, server, viewport, locale)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def phone(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    return new_context(PHONE)


@pytest.fixture
def page(phone: BrowserContext) -> Page:
    return phone.new_page()


@pytest.fixture(scope="session")
def axe() -> Callable[[Page], None]:
    from axe_playwright_python.sync_playwright import Axe

    checker = Axe()

    def check(page: Page) -> None:
        results = checker.run(page)
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:3])
            for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")
        ]
        assert not bad, f"axe on {page.url}: " + "; ".join(bad)

    return check


@pytest.fixture(scope="session")
def screens_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``SOCIALCREDIT_SCREENS_DIR`` (``make screens`` sets docs/screens),
    else a temporary directory (the test still renders every page at both widths)."""
    target = os.environ.get("SOCIALCREDIT_SCREENS_DIR")
    if target:
        p = Path(target)
        p.mkdir(parents=True, exist_ok=True)
        return p
    return tmp_path_factory.mktemp("screens")
