"""One place for students and parents, on a 390-px phone: a student signs in with their password,
lands on their tasks (/me/) and signs the pledge there; in the demo, a parent signs in with the code
that the demo SMS page shows the administrator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from fanzha.org.models import User
from fanzha.reach import actions
from fanzha.reach.models import Attestation, Item
from tests.conftest import PASSWORD, Cast
from tests.e2e.conftest import no_sideways_scroll, shoot, sign_in
from tests.e2e.test_reach_member import draw
from tests.reach.conftest import make_campaign

pytestmark = [pytest.mark.e2e]


def test_student_and_parent_in_one_place(
    phones: list[BrowserContext], live_server: Any, live_cast: Cast, shots: Path | None, settings: Any
) -> None:
    settings.FANZHA_SMS_BACKEND = "demo"
    campaign = make_campaign(live_cast)
    base = live_server.url
    student, other = phones[:2]

    page = student.new_page()
    sign_in(page, base, "UNI:2023001", home="/me/")
    expect(page.locator("h1").first).to_have_text("我的任务")
    expect(page.locator("[data-testid=member-report]")).to_be_visible()
    no_sideways_scroll(page)
    shoot(page, shots, "me-student")
    page.locator("[data-item=pledge_signed] a").click()
    draw(page)
    page.locator("#sign-form button[type=submit]").click()
    expect(page).to_have_url(f"{base}/me/")
    expect(page.locator(".msg.success")).to_contain_text("承诺书已签署")
    assert Attestation.objects.get(campaign=campaign, item=Item.PLEDGE_SIGNED).person == live_cast.student

    # A parent on the class link asks for a code; the demo keeps it for the administrator's page.
    link = actions.ensure_class_link(live_cast.cs2301)
    parent = other.new_page()
    parent.goto(f"{base}/m/{link.token}/parent/")
    parent.locator("#id_phone").fill("13900139000")
    parent.locator("main form button[type=submit]").click()
    expect(parent.locator("#id_code")).to_be_visible()

    User.objects.create_superuser("root", password=PASSWORD)
    student.clear_cookies()  # the same phone, now the administrator's
    admin = student.new_page()
    sign_in(admin, base, "root")
    admin.goto(f"{base}/notifications/sms-demo/")
    expect(admin.locator("[data-testid=demo-only]")).to_contain_text("演示短信，未真实发送")
    no_sideways_scroll(admin)
    shoot(admin, shots, "sms-demo")
    text = admin.locator("[data-testid=demo-sms]").first.inner_text()
    code = re.search(r"\d{6}", text)
    assert code is not None and "139****9000" in text

    parent.locator("#id_code").fill(code.group(0))
    parent.locator("main form button[type=submit]").click()
    expect(parent.locator("h1")).to_have_text("家长事项")  # notices and the app, child by child
    no_sideways_scroll(parent)
    shoot(parent, shots, "parent-notices")
