"""Browser tests: Playwright drives Debian's Chromium (never ``playwright install``).

The sync Playwright API runs an event loop in the test thread, so Django's guard against ORM
calls from async code must be lifted for the test thread that builds data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import PASSWORD, Cast, build_cast, skip_or_fail

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is not installed (apt-get install chromium fonts-noto-cjk)")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A Chinese-speaking desktop browser: the product's default language."""
    return {**browser_context_args, "locale": "zh-CN", "viewport": {"width": 1280, "height": 900}}


PHONE = {"width": 390, "height": 844}  # the phone every field page is checked on (issue 15)


def new_phone(browser: Browser) -> BrowserContext:
    """A Chinese-language phone at 390 × 844 with touch, as the field staff and members use."""
    return browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    context = new_phone(browser)
    yield context
    context.close()


@pytest.fixture
def phones(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Three phones, one per person (each signs in on their own)."""
    contexts = [new_phone(browser) for _ in range(3)]
    yield contexts
    for context in contexts:
        context.close()


@pytest.fixture
def live_cast(transactional_db: None) -> Cast:
    """The named cast, committed so that the live server's thread sees it."""
    return build_cast()


@pytest.fixture
def shots() -> Path | None:
    """Where to save screenshots for a human to look at (``FANZHA_E2E_SHOTS``), if anywhere."""
    folder = os.environ.get("FANZHA_E2E_SHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


# Helpers of the browser tests ---------------------------------------------------------------------


def shoot(page: Page, shots: Path | None, name: str) -> None:
    if shots is not None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, login: str, home: str = "/") -> None:
    """Sign in with the cast's password and land on the home page (a student's or parent's: ``/me/``)."""
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(login)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page).to_have_url(f"{base}{home}")


def no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths


def wait_image_loaded(page: Any, selector: str, timeout_ms: int = 10_000) -> None:
    """Wait until the image has really loaded (its natural width is known).

    Why not ``page.wait_for_function``: its polling evaluates a string in the page, which the
    Content-Security-Policy (no 'unsafe-eval') forbids; ``page.evaluate`` goes through the
    DevTools protocol and is not subject to it.
    """
    waited = 0
    while waited <= timeout_ms:
        if page.evaluate("(s) => (document.querySelector(s) || {}).naturalWidth || 0", selector) > 0:
            return
        page.wait_for_timeout(50)
        waited += 50
    raise AssertionError(f"{selector} did not load within {timeout_ms} ms")
