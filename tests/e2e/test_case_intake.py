"""On a phone: a counsellor records a case (roster lookup, an added transfer row, autosave, the
draft restored after leaving), the alert goes out; a student reports their own case in a few taps."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, expect

from fanzha.cases.models import Case, CaseDraft, CaseState
from fanzha.reach import actions as reach_actions
from tests.cases.conftest import GOOD_CARD
from tests.codes import give_code
from tests.conftest import Cast
from tests.e2e.conftest import no_sideways_scroll, shoot, sign_in

pytestmark = [pytest.mark.e2e]

FMT = "%Y-%m-%dT%H:%M"


def test_counsellor_records_a_case_with_autosave(
    phone: BrowserContext, live_server: Any, live_cast: Cast, shots: Path | None
) -> None:
    base = live_server.url
    now = timezone.localtime()
    page = phone.new_page()
    sign_in(page, base, "T0003")
    page.goto(base + "/cases/new/")  # the full form (报告案件 on the home page opens the quick one)
    expect(page.locator("h1")).to_have_text("报告案件")
    no_sideways_scroll(page)

    page.locator("#id_unit").select_option(str(live_cast.cs2301.pk))
    page.locator("#id_victim_number").fill("2023001")
    page.locator("#id_victim_number").blur()
    expect(page.locator("[data-person-name]")).to_contain_text("张三")
    page.locator("#id_occurred_at").fill((now - timedelta(hours=3)).strftime(FMT))
    page.locator("#id_fraud_type").select_option("fake_cs")
    page.locator("#id_channel").select_option("call")
    page.locator("#id_narrative").fill("自称快递客服，以理赔为由诱导转账")
    page.locator("#id_ind-0-kind").select_option("phone")
    page.locator("#id_ind-0-value").fill("171 2345 6789")
    page.locator("#id_tr-0-at").fill((now - timedelta(hours=2)).strftime(FMT))
    page.locator("#id_tr-0-amount").fill("2000")
    page.locator("#id_tr-0-method").select_option("bank_transfer")
    page.locator("#id_tr-0-to_account").fill(GOOD_CARD)
    # A fourth transfer row, added by the script.
    page.locator("[data-add-row=tr]").click()
    expect(page.locator("#id_tr-3-amount")).to_be_visible()
    page.locator("#id_tr-3-at").fill((now - timedelta(hours=1)).strftime(FMT))
    page.locator("#id_tr-3-amount").fill("500.50")
    page.locator("#id_tr-3-method").select_option("alipay")
    page.locator("#id_family").fill("父母务农")
    expect(page.locator("[data-draft-status]")).to_contain_text("草稿已保存", timeout=15000)
    # Let a save still pending after the last keystroke finish: the test database takes one writer.
    page.wait_for_timeout(5000)
    page.wait_for_load_state("networkidle")
    shoot(page, shots, "case-intake")
    draft = CaseDraft.objects.get()
    assert draft.data["tr-3-amount"] == "500.50" and draft.data["family"] == "父母务农"

    # Leave, come back through the list, and go on from the draft.
    page.goto(f"{base}/cases/")
    no_sideways_scroll(page)
    page.locator("a", has_text="继续填写").click()
    expect(page.locator("#id_tr-1-amount")).to_have_value("500.50")
    expect(page.locator("#id_family")).to_have_value("父母务农")
    page.locator("button[type=submit]", has_text="提交案件").click()
    expect(page.locator(".messages")).to_contain_text("紧急止付预警已发出")
    no_sideways_scroll(page)
    shoot(page, shots, "case-detail")
    case = Case.objects.get()
    assert case.state == CaseState.ALERTED and str(case.total_loss) == "2500.50"
    assert not CaseDraft.objects.exists()
    assert "父母务农" not in page.content()


def test_student_reports_from_the_phone_pages(
    phone: BrowserContext, live_server: Any, live_cast: Cast, shots: Path | None
) -> None:
    link = reach_actions.ensure_class_link(live_cast.cs2301)
    base = live_server.url
    now = timezone.localtime()
    page = phone.new_page()
    page.goto(f"{base}/m/{link.token}/signin/")
    page.locator("#id_number").fill("2023001")
    page.locator("#id_code").fill(give_code(live_cast.student, live_cast.counsellor))
    page.locator("button[name=login]").click()
    expect(page.locator("h1")).to_have_text("我的任务")
    page.locator("[data-testid=member-report]").click()
    expect(page.locator("h1")).to_have_text("我被骗了，马上报告")
    no_sideways_scroll(page)
    page.locator("#id_fraud_type").select_option("police")
    page.locator("#id_tr-0-at").fill((now - timedelta(minutes=30)).strftime(FMT))
    page.locator("#id_tr-0-amount").fill("8000")
    page.locator("#id_tr-0-method").select_option("bank_transfer")
    page.locator("#id_suspect_phones").fill("+86 171 2345 6789")
    shoot(page, shots, "member-report")
    page.locator("#member-report button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("已报告，请保持电话畅通")
    expect(page.locator("a[href='tel:110']").first).to_be_visible()
    no_sideways_scroll(page)
    shoot(page, shots, "member-report-done")
    case = Case.objects.get()
    assert case.victim == live_cast.student and case.state == CaseState.ALERTED
    expect(page.locator("main")).to_contain_text(case.number)
