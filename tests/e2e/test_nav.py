"""The main menu on a desktop (a bar) and on phones (folded into a menu button): every entry of the
role is reachable and nothing scrolls sideways. Screenshots go to ``FANZHA_E2E_SHOTS`` if set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import Cast
from tests.e2e.conftest import no_sideways_scroll, shoot, sign_in

pytestmark = [pytest.mark.e2e]

ADMIN_MENU = [
    "首页",
    "单位",
    "人员",
    "专项行动",
    "统计看板",
    "覆盖情况",
    "案件",
    "活动",
    "责任书",
    "方案模板",
    "名册导入",
    "账号",
    "知识库",
    "通知",
]
STUDENT_MENU = ["首页", "我的信息", "知识库", "通知", "修改密码"]
ACCOUNT_MENU = [
    "接口令牌",
    "修改密码",
]  # the account area's links, folded into the phone menu after the main ones


@pytest.mark.parametrize("width", [1440, 1366])
def test_menu_bar_on_a_desktop(
    browser: Browser, live_server: Any, live_cast: Cast, shots: Path | None, width: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 800}, locale="zh-CN")
    try:
        sign_in(page, live_server.url, "UNI:T0001")
        bar = page.locator(".mainnav")
        expect(bar).to_be_visible()
        expect(page.locator("details.navmenu")).to_be_hidden()
        expect(bar.locator("a")).to_have_text(ADMIN_MENU)
        expect(bar.locator("a[aria-current=page]")).to_have_text("首页")
        # One row: the bar is no taller than the brand beside it.
        heights = page.evaluate(
            "[document.querySelector('.mainnav').getBoundingClientRect().height,"
            " document.querySelector('.topbar').getBoundingClientRect().height]"
        )
        assert heights[0] < 50 and heights[1] < 70, heights
        no_sideways_scroll(page)
        shoot(page, shots, f"desktop{width}-nav-home")
        bar.get_by_role("link", name="责任书").click()
        expect(page).to_have_url(f"{live_server.url}/campaigns/letters/")
        expect(bar.locator("a[aria-current=page]")).to_have_text("责任书")
    finally:
        page.close()


@pytest.mark.parametrize("width", [390, 320])
def test_folded_menu_on_a_phone(
    browser: Browser, live_server: Any, live_cast: Cast, shots: Path | None, width: int
) -> None:
    context = browser.new_context(
        locale="zh-CN", viewport={"width": width, "height": 740}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "UNI:T0001")
        expect(page.locator(".mainnav")).to_be_hidden()
        menu = page.locator("details.navmenu")
        expect(menu.locator("summary")).to_be_visible()
        expect(menu.locator("nav")).to_be_hidden()
        no_sideways_scroll(page)
        shoot(page, shots, f"phone{width}-nav-closed")

        menu.locator("summary").click()
        links = menu.locator("nav a")
        expect(links).to_have_text(ADMIN_MENU + ACCOUNT_MENU)
        for i in range(links.count()):
            box = links.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
            assert box["height"] >= 40, box  # big enough for a thumb
        no_sideways_scroll(page)
        shoot(page, shots, f"phone{width}-nav-open")

        menu.get_by_role("link", name="专项行动", exact=True).click()
        expect(page).to_have_url(f"{live_server.url}/campaigns/")
        expect(page.locator("details.navmenu")).not_to_have_attribute("open", "")
        page.locator("details.navmenu summary").click()
        expect(page.locator("details.navmenu nav a[aria-current=page]")).to_have_text("专项行动")
    finally:
        context.close()


def test_student_menu_on_a_phone(browser: Browser, live_server: Any, live_cast: Cast) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "UNI:2023001", home="/me/")  # a student's home: their tasks
        no_sideways_scroll(page)
        page.goto(f"{live_server.url}/notifications/")
        page.locator("details.navmenu summary").click()
        expect(page.locator("details.navmenu nav a")).to_have_text(STUDENT_MENU)
        expect(page.locator("details.navmenu nav a", has_text="我的信息")).to_have_attribute("href", "/me/")
        no_sideways_scroll(page)
    finally:
        context.close()
