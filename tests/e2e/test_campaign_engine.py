"""A school administrator starts a campaign from a template, then follows the lagging units down to
the person responsible; the month calendar on a phone. Screenshots with ``FANZHA_E2E_SHOTS``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from fanzha.campaigns.models import Campaign
from tests.campaigns.engine import make_template, obligation, record
from tests.conftest import Cast
from tests.e2e.conftest import shoot, sign_in

pytestmark = [pytest.mark.e2e]


def test_start_campaign_and_drill_down(live_server, live_cast: Cast, browser: Browser, shots: Path | None):
    cast, base = live_cast, live_server.url
    template = make_template()
    template.owner_unit = cast.uni
    template.save()
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    sign_in(page, base, "UNI:T0001")
    page.locator(".mainnav a", has_text="专项行动").click()
    expect(page).to_have_url(f"{base}/campaigns/")
    page.get_by_role("link", name="发起专项行动").click()
    page.get_by_role("link", name="测试行动").click()
    page.locator("#id_q").fill("sfdx")  # 示范大学 by its pinyin initials
    page.get_by_role("button", name="查找", exact=True).click()
    page.get_by_role("radio", name="示范大学").check()
    page.locator("#id_starts_on").fill("2026-03-01")
    page.locator("#id_ph_contact").fill("王老师")
    shoot(page, shots, "campaign-start")
    page.get_by_role("button", name="发起", exact=True).click()
    campaign = Campaign.objects.get()
    expect(page).to_have_url(f"{base}/campaigns/{campaign.pk}/")
    expect(page.locator("h1")).to_have_text("示范大学2026年防诈骗测试行动")
    expect(page.locator(".plan-section").first).to_contain_text("联系人王老师")
    shoot(page, shots, "campaign-detail")

    record(obligation(campaign, "weekly-article", cast.cs2301), date(2026, 3, 3), date(2026, 3, 10))
    page.goto(f"{base}/campaigns/{campaign.pk}/dashboard/?on=2026-03-20")
    expect(page.locator("tbody tr").first).to_contain_text("数学学院")  # the laggard first
    shoot(page, shots, "campaign-dashboard")
    page.get_by_role("link", name="计算机学院").click()
    page.get_by_role("link", name="计科2301班").click()
    expect(page.locator("h1")).to_have_text("计科2301班")
    expect(page.get_by_role("link", name="李四").first).to_have_attribute(
        "href", f"/people/{cast.monitor.pk}/"
    )
    page.get_by_role("link", name="每周推送一篇防骗文章").click()
    # three begun (the campaign's lone first Sunday joins the first week), and the next one
    expect(page.locator("table.stack tbody tr")).to_have_count(4)
    shoot(page, shots, "campaign-obligation")

    phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    sign_in(phone, base, "UNI:T0001")
    phone.goto(f"{base}/campaigns/{campaign.pk}/calendar/?month=2026-03&on=2026-03-20")
    expect(phone.locator(".calendar")).to_contain_text("每周推送一篇防骗文章")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing scrolls sideways
    shoot(phone, shots, "campaign-calendar-phone")
    phone.goto(f"{base}/campaigns/{campaign.pk}/dashboard/?unit={cast.cs2301.pk}&on=2026-03-20")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(phone, shots, "campaign-class-phone")
