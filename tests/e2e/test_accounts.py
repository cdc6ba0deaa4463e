"""Accounts on a 390-px phone: an administrator opens a teacher's account (no SMS gateway: the page
says so and the invitation goes by e-mail), the teacher sets the password from the link, and the
account pages fit the screen. Screenshots go to ``FANZHA_E2E_SHOTS`` if set."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Browser, expect

from fanzha.org import actions
from tests.conftest import Cast
from tests.e2e.conftest import no_sideways_scroll, shoot, sign_in

pytestmark = [pytest.mark.e2e]

PHONE = {"locale": "zh-CN", "viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def test_open_an_account_and_set_the_password_on_a_phone(
    browser: Browser, live_server: Any, live_cast: Cast, shots: Path | None
) -> None:
    teacher = actions.enrol_person(
        unit=live_cast.cs, name="林老师", kind="teacher", external_number="T0100", phone="13700137000"
    )
    admin = browser.new_context(**PHONE)
    page = admin.new_page()
    try:
        sign_in(page, live_server.url, "UNI:T0001")
        page.goto(f"{live_server.url}/people/{teacher.pk}/")
        panel = page.locator("#account")
        expect(panel.locator("[data-testid=no-gateway]")).to_be_visible()
        no_sideways_scroll(page)
        shoot(page, shots, "phone390-account-open")
        panel.locator("#id_email").fill("lin@example.edu.cn")
        panel.get_by_role("button", name="开通账号并发送邀请").click()
        expect(page.locator(".msg").first).to_contain_text("未发送：未配置短信网关")
        expect(page.locator("[data-testid=account-status]")).to_contain_text("邀请未接受")
        no_sideways_scroll(page)
        shoot(page, shots, "phone390-account-invited")
        for path in ("/accounts/", f"/accounts/units/{live_cast.cs.pk}/open/", f"/units/{live_cast.cs.pk}/"):
            page.goto(live_server.url + path)
            no_sideways_scroll(page)
            shoot(page, shots, "phone390-account" + path.replace("/", "-").rstrip("-"))
    finally:
        admin.close()

    link = re.search(r"/account/welcome/\?t=[A-Za-z0-9_-]+", mail.outbox[-1].body)
    assert link is not None
    person = browser.new_context(**PHONE)
    page = person.new_page()
    try:
        page.goto(live_server.url + link.group(0))
        expect(page).to_have_url(f"{live_server.url}/account/welcome/")  # the secret left the address bar
        no_sideways_scroll(page)
        shoot(page, shots, "phone390-account-welcome")
        page.locator("#id_new_password1").fill("Lin-own-pass-2026!")
        page.locator("#id_new_password2").fill("Lin-own-pass-2026!")
        page.get_by_role("button", name="设置密码并登录").click()
        # No role granted yet: the teacher lands on their own tasks, as any member does.
        expect(page).to_have_url(f"{live_server.url}/me/")
        page.goto(f"{live_server.url}/account/password/")
        expect(page.locator(".account-name")).to_have_text("林老师")
        no_sideways_scroll(page)
        shoot(page, shots, "phone390-account-password")
    finally:
        person.close()
    anonymous = browser.new_context(**PHONE)
    page = anonymous.new_page()
    try:
        page.goto(f"{live_server.url}/account/forgot/")
        no_sideways_scroll(page)
        shoot(page, shots, "phone390-account-forgot")
    finally:
        anonymous.close()
