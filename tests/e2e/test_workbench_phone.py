"""Issue 15, Deliver 1: the workbench on a 390-px phone. The police liaison, the counsellor and the
school's administrator see their urgent work first, with no sideways scroll; the liaison's open alert
counts down to its acknowledgement target in the browser (``cases/countdown.js``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from fanzha.cases import actions
from tests.cases.conftest import intake
from tests.conftest import Cast
from tests.e2e.conftest import no_sideways_scroll, shoot, sign_in

pytestmark = [pytest.mark.e2e]


def test_urgent_work_comes_first_on_a_phone(
    phones: list[BrowserContext], live_server: Any, live_cast: Cast, shots: Path | None
) -> None:
    actions.report_case(intake(live_cast.cs2301, live_cast.student), live_cast.counsellor)
    base = live_server.url
    logins = (("UNI:P0001", "liaison"), ("UNI:T0003", "counsellor"), ("UNI:T0001", "admin"))
    for phone, (login, name) in zip(phones, logins, strict=True):
        page = phone.new_page()
        sign_in(page, base, login)
        sections = page.locator("main section.card, main details.card")
        expect(sections.first).to_have_attribute("id", "wb-urgent")
        no_sideways_scroll(page)
        shoot(page, shots, f"workbench-{name}")
        if name == "liaison":
            countdown = page.locator("#wb-urgent time[data-deadline]")
            expect(countdown).to_contain_text("确认时限剩余")  # the script replaced the server's text
        page.close()
