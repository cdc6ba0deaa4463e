"""On a 390-px phone, the people in the field do their daily work without sideways scrolling (issue 15,
item 4): counsellors, class teachers, dorm heads, police officers and branch staff, each on their
daily pages (home, coverage and its matrix, the activity record form, their class or room, the quick
case intake, the police alert list, the bank's freeze requests). Each page is checked for
``scrollWidth <= 390`` and photographed into the test's tmp dir."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from fanzha.campaigns.models import Campaign, CampaignTemplate
from fanzha.cases import actions as case_actions
from fanzha.reach import actions as reach_actions
from tests.cases.conftest import intake
from tests.conftest import Cast, build_cast
from tests.e2e.conftest import sign_in
from tests.reach.conftest import TEMPLATE

pytestmark = [pytest.mark.e2e]

WIDTH = 390


@pytest.fixture
def field(transactional_db: None) -> dict[str, Any]:
    """The county cast, committed for the live server, with a coverage campaign over the university and
    one over the county, a reported case (so the counsellor's and police pages have a row)."""
    cast = build_cast(county=True)
    today = timezone.localdate()
    template = CampaignTemplate.objects.create(code="field-phone", title="反诈专项行动", text=TEMPLATE)
    campaigns = {}
    for key, unit in (("uni", cast.uni), ("county", cast.county)):
        campaigns[key] = Campaign.objects.create(
            template=template,
            template_text=TEMPLATE,
            unit=unit,
            title=f"{unit.name}{today.year}年防范电信网络诈骗专项行动",
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=300),
        )
    reach_actions.ensure_class_link(cast.cs2301)
    case = case_actions.report_case(
        intake(cast.cs2301, cast.student), cast.counsellor, submit_token="field-1"
    )
    return {"cast": cast, "campaigns": campaigns, "case": case}


def _pages(field: dict[str, Any]) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Per role: the login, and the daily pages (a name for the screenshot, the path)."""
    cast: Cast = field["cast"]
    uni, county = field["campaigns"]["uni"], field["campaigns"]["county"]
    assert cast.m0701 is not None and cast.county is not None
    return {
        "counsellor": (
            "T0003",
            [
                ("coverage", reverse("reach_index")),
                ("class", reverse("reach_unit", args=[cast.cs2301.pk])),
                ("matrix", reverse("reach_matrix", args=[cast.cs2301.pk, uni.pk])),
                ("room", reverse("reach_unit", args=[cast.d1_101.pk])),
                ("record", reverse("activity_record")),
                ("quick-intake", reverse("case_quick")),
                ("cases", reverse("case_list")),
                ("case", reverse("case_detail", args=[field["case"].pk])),
            ],
        ),
        "class_teacher": (
            "T1001",
            [
                ("coverage", reverse("reach_index")),
                ("class", reverse("reach_unit", args=[cast.m0701.pk])),
                ("matrix", reverse("reach_matrix", args=[cast.m0701.pk, county.pk])),
                ("record", reverse("activity_record")),
                ("quick-intake", reverse("case_quick")),
            ],
        ),
        "dorm_manager": (
            "T0010",
            [
                ("coverage", reverse("reach_index")),
                ("room", reverse("reach_unit", args=[cast.d1_101.pk])),
                ("matrix", reverse("reach_matrix", args=[cast.d1_101.pk, uni.pk])),
                ("record", reverse("activity_record")),
            ],
        ),
        "police_officer": (
            "P1002",
            [
                ("alerts", reverse("alert_list")),
                ("quick-intake", reverse("case_quick")),
                ("record", reverse("activity_record")),
            ],
        ),
        # The university's police liaison: the alert of the reported case is on their list.
        "police_liaison": (
            "P0001",
            [
                ("alerts", reverse("alert_list")),
                ("alert", reverse("alert_detail", args=[field["case"].alert.pk])),
            ],
        ),
        "branch_manager": (
            "B1001",
            [
                ("freeze", reverse("freeze_list")),
                ("record", reverse("activity_record")),
            ],
        ),
    }


ROLES = ("counsellor", "class_teacher", "dorm_manager", "police_officer", "police_liaison", "branch_manager")


def _check(page: Page, base: str, path: str, shot: Path) -> None:
    response = page.goto(f"{base}{path}")
    assert response is not None and response.status == 200, (path, response and response.status)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    page.screenshot(path=str(shot), full_page=True)
    assert widths[0] <= WIDTH, (path, widths)
    # Nothing scrolls sideways inside the page either (a wide table in an overflow box).
    inner = page.evaluate(
        "Array.from(document.querySelectorAll('main *')).filter("
        "e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible'"
        " && e.clientWidth > 20 && !['TEXTAREA', 'SELECT', 'INPUT'].includes(e.tagName))"
        ".map(e => [e.tagName, e.className, e.scrollWidth, e.clientWidth, e.textContent.slice(0, 40)])"
    )
    assert not inner, (path, inner)


@pytest.mark.parametrize("role", ROLES)
def test_daily_pages_fit_a_phone(
    role: str, phone: BrowserContext, live_server: Any, field: dict[str, Any], tmp_path: Path
) -> None:
    login, pages = _pages(field)[role]
    page = phone.new_page()
    base = live_server.url
    sign_in(page, base, login)
    for name, path in pages:
        _check(page, base, path, tmp_path / f"{role}-{name}.png")


@pytest.mark.parametrize("role", ROLES)
def test_home_fits_a_phone(
    role: str, phone: BrowserContext, live_server: Any, field: dict[str, Any], tmp_path: Path
) -> None:
    login, _pages_of_role = _pages(field)[role]
    page = phone.new_page()
    base = live_server.url
    sign_in(page, base, login)
    _check(page, base, "/", tmp_path / f"{role}-home.png")


def test_quick_intake_on_a_phone_sends_the_alert_and_opens_step_two(
    phone: BrowserContext, live_server: Any, field: dict[str, Any], tmp_path: Path
) -> None:
    page = phone.new_page()
    base = live_server.url
    sign_in(page, base, "T0003")
    page.goto(f"{base}{reverse('case_quick')}")
    fill: Callable[[str, str], None] = lambda sel, value: page.locator(sel).fill(value)  # noqa: E731
    fill("#id_victim_name", "张三")
    page.locator("#id_victim_name").press("Tab")  # the same-named people in scope are offered
    page.locator("[data-victim-choices] label", has_text="2023001").click()
    fill("#id_total_loss", "800")
    page.locator("#id_method").select_option("alipay")
    fill("#id_to_account", "pay@example.com")
    page.locator("form[data-testid=case-quick] button[type=submit]").click()
    page.wait_for_load_state()
    assert "/edit/" in page.url
    assert "紧急止付预警已发出" in page.locator(".messages").inner_text()
    page.screenshot(path=str(tmp_path / "quick-step-two.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    expect(page.locator("#id_victim_number")).to_have_value("2023001")  # step 2 knows the student
