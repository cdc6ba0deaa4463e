"""A college administrator signs in and walks the grid down to one student, on a desktop and a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import Cast
from tests.e2e.conftest import shoot, sign_in

pytestmark = [pytest.mark.e2e]


def open_menu_entry(page: Page, name: str) -> None:
    """Follow a main-menu link: in the bar on a desktop, in the folded menu on a phone."""
    menu = page.locator("details.navmenu")
    if menu.is_visible():
        menu.locator("summary").click()
        menu.get_by_role("link", name=name, exact=True).click()
    else:
        page.locator(".mainnav").get_by_role("link", name=name, exact=True).click()


def walk(page: Page, base: str, cast: Cast, shots: Path | None, prefix: str) -> None:
    """Home → units → college → class → its people → the student, checking scope and masking."""
    sign_in(page, base, "T0002")  # the college administrator's staff number
    expect(page.locator("h1")).to_contain_text("院管理员")
    # The workbench: urgent work first (issue 15), no count of the scope.
    expect(page.locator("section.workbench h2").first).to_have_text("紧急")
    shoot(page, shots, f"{prefix}-home")

    open_menu_entry(page, "单位")
    expect(page).to_have_url(f"{base}/units/")
    page.get_by_role("link", name="计算机学院", exact=True).click()
    expect(page).to_have_url(f"{base}/units/{cast.cs.pk}/")
    expect(page.locator("h1")).to_have_text("计算机学院")
    # The school above the college is outside the grant: named in the breadcrumbs but not a link.
    expect(page.locator(".crumbs")).to_contain_text("示范大学")
    expect(page.locator(".crumbs a", has_text="示范大学")).to_have_count(0)
    shoot(page, shots, f"{prefix}-unit")

    page.get_by_role("link", name="计科2301班").click()
    expect(page).to_have_url(f"{base}/units/{cast.cs2301.pk}/")
    expect(page.locator(".crumbs a", has_text="计算机学院")).to_have_count(1)
    page.locator(f"a[href='/people/?unit={cast.cs2301.pk}']").click()
    expect(page.locator("table.stack tbody tr")).to_have_count(2)
    shoot(page, shots, f"{prefix}-people")

    page.get_by_role("link", name="张三").click()
    expect(page).to_have_url(f"{base}/people/{cast.student.pk}/")
    expect(page.locator(".facts").first).to_contain_text("138****8000")
    expect(page.locator("body")).not_to_contain_text("13800138000")
    shoot(page, shots, f"{prefix}-person")

    # Reveal: the number appears on this response only, and the URL carries nothing.
    page.locator("form[action$='/reveal/'] input[value=phone] + button").click()
    expect(page.locator("[data-testid=revealed]")).to_have_text("13800138000")
    assert "13800138000" not in page.url
    page.goto(f"{base}/people/{cast.student.pk}/")
    expect(page.locator("body")).not_to_contain_text("13800138000")

    # A person of the other school is missing, not forbidden.
    response = page.goto(f"{base}/people/{cast.other_student.pk}/")
    assert response is not None and response.status == 404


def test_walk_desktop(page: Page, live_server: Any, live_cast: Cast, shots: Path | None) -> None:
    walk(page, live_server.url, live_cast, shots, "desktop")


def test_walk_phone(browser: Browser, live_server: Any, live_cast: Cast, shots: Path | None) -> None:
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        walk(page, live_server.url, live_cast, shots, "phone")
        page.goto(f"{live_server.url}/people/")
        # Tables become stacked cards: the header row is hidden and nothing scrolls sideways.
        assert page.locator("table.stack thead").bounding_box()["width"] <= 1  # type: ignore[index]
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1]
        shoot(page, shots, "phone-people-all")
    finally:
        context.close()


def test_login_lockout_page(page: Page, live_server: Any, live_cast: Cast, shots: Path | None) -> None:
    for _ in range(5):
        page.goto(f"{live_server.url}/login/")
        page.locator("#id_username").fill("T0003")
        page.locator("#id_password").fill("wrong-password")
        page.locator("form.form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("账号已暂时锁定")
    shoot(page, shots, "desktop-locked")
