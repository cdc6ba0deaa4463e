"""On a phone, no password: a student opens the class link, signs the pledge with a finger, declares
the anti-fraud app with a screenshot and passes the quiz against the clock; a parent signs the notice."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from fanzha.learn.models import Question, QuizPaper
from fanzha.reach import actions
from fanzha.reach.models import Attestation, Item
from tests.campaigns import files
from tests.codes import give_code
from tests.conftest import Cast
from tests.e2e.conftest import no_sideways_scroll, shoot
from tests.reach.conftest import CaptureBackend, last_code, make_campaign

pytestmark = [pytest.mark.e2e]


def draw(page: Page) -> None:
    pad = page.locator("#signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 30, box["y"] + box["height"] * 0.6)
    page.mouse.down()
    for i in range(1, 25):
        page.mouse.move(box["x"] + 30 + i * 10, box["y"] + box["height"] * (0.6 - 0.3 * ((i % 6) / 6)))
    page.mouse.up()
    expect(pad).to_have_class("signature-pad signed")


def test_student_on_a_phone(
    phone: BrowserContext, live_server: Any, live_cast: Cast, shots: Path | None, tmp_path: Path
) -> None:
    campaign = make_campaign(live_cast)
    for i in range(2):
        Question.objects.create(
            code=f"e2e{i}",
            kind="single",
            stem=f"有人自称客服要你提供验证码（{i}）",
            choices=["马上提供", "拒绝并挂断核实"],
            answer=[1],
            explanation="验证码不给任何人。",
        )
    QuizPaper.objects.create(
        code="e2e", title="防骗测试", audience="student", rules={"single": 2}, pass_mark=60, campaign=campaign
    )
    link = actions.ensure_class_link(live_cast.cs2301)
    base = live_server.url
    page = phone.new_page()
    page.goto(f"{base}/m/{link.token}/")
    expect(page.locator("h1")).to_have_text(live_cast.cs2301.name)
    no_sideways_scroll(page)
    shoot(page, shots, "member-landing")
    page.locator("a", has_text="学生 / 教职工登录").click()
    expect(page.locator("[data-testid=no-code]")).to_contain_text("辅导员或班主任")
    page.locator("#id_number").fill("2023001")
    page.locator("#id_code").fill(give_code(live_cast.student, live_cast.counsellor))
    shoot(page, shots, "member-signin")
    page.locator("button[name=login]").click()
    expect(page.locator("h1")).to_have_text("我的任务")
    no_sideways_scroll(page)
    shoot(page, shots, "member-tasks")

    # The pledge: an empty pad is not sent; a drawn one is.
    page.locator("[data-item=pledge_signed] a").click()
    page.locator("#sign-form button[type=submit]").click()
    expect(page.locator("[data-signature-note]")).to_be_visible()
    draw(page)
    no_sideways_scroll(page)
    shoot(page, shots, "member-pledge")
    page.locator("#sign-form button[type=submit]").click()
    expect(page.locator(".msg.success")).to_contain_text("承诺书已签署")
    assert Attestation.objects.get(item=Item.PLEDGE_SIGNED).signature

    # The app: three boxes and a screenshot.
    page.locator("[data-item=app_installed] a").click()
    page.locator("#id_app_installed").check()
    page.locator("#id_app_registered").check()
    page.locator("#id_app_warnings_on").check()
    screenshot = tmp_path / "screen.png"
    screenshot.write_bytes(files.png(300, 600))
    page.locator("#id_screenshot").set_input_files(str(screenshot))
    no_sideways_scroll(page)
    shoot(page, shots, "member-app")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".msg.success")).to_be_visible()
    assert Attestation.objects.filter(item__startswith="app_").count() == 3

    # The quiz: a countdown runs; the right answers pass.
    page.locator("[data-item=quiz_passed] a").click()
    page.locator("button", has_text="开始答题").click()
    expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    for question in page.locator("fieldset.question").all():
        question.locator("input[value='1']").check()
    no_sideways_scroll(page)
    shoot(page, shots, "member-quiz")
    page.locator("#quiz-form button[type=submit]").click()
    expect(page.locator("#result")).to_contain_text("合格")
    assert Attestation.objects.get(item=Item.QUIZ_PASSED).status == "verified"


def test_parent_on_a_phone(
    phone: BrowserContext, live_server: Any, live_cast: Cast, shots: Path | None, settings: Any
) -> None:
    settings.FANZHA_SMS_BACKEND = "tests.reach.conftest.CaptureBackend"
    CaptureBackend.sent.clear()
    campaign = make_campaign(live_cast)
    link = actions.ensure_class_link(live_cast.cs2301)
    base = live_server.url
    page = phone.new_page()
    page.goto(f"{base}/m/{link.token}/")
    page.locator("a", has_text="家长登录").click()
    page.locator("#id_phone").fill("13900139000")
    page.locator("main form button[type=submit]").click()
    page.locator("#id_code").fill(last_code("13900139000"))
    shoot(page, shots, "member-code")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("家长事项")  # notices and the app, child by child
    page.locator("a", has_text=f"为{live_cast.student.name}签署").click()
    draw(page)
    no_sideways_scroll(page)
    shoot(page, shots, "member-notice")
    page.locator("#sign-form button[type=submit]").click()
    expect(page.locator(".msg.success")).to_contain_text(live_cast.student.name)
    row = Attestation.objects.get(campaign=campaign, item=Item.PARENT_NOTICE_SIGNED)
    assert row.person == live_cast.student and row.by_guardian == live_cast.parent


def test_counsellor_confirms_and_reminds_on_a_phone(
    phone: BrowserContext, live_server: Any, live_cast: Cast, shots: Path | None
) -> None:
    from fanzha.notify.models import Outbox
    from tests.e2e.conftest import sign_in

    campaign = make_campaign(live_cast)
    actions.attest(campaign, live_cast.student, Item.APP_INSTALLED, "declared")
    base = live_server.url
    page = phone.new_page()
    sign_in(page, base, "T0003")
    page.goto(f"{base}/reach/")
    page.locator("a", has_text=live_cast.cs2301.name).click()
    page.locator(".tiles a", has_text=campaign.title).click()
    expect(page.locator("tr[data-person]")).to_have_count(2)
    shoot(page, shots, "reach-matrix")
    page.locator(".stat[data-item=app_installed]").click()
    expect(page.locator("h1")).to_have_text("安装国家反诈中心APP")
    no_sideways_scroll(page)
    page.locator(f"#p{live_cast.monitor.pk}").check()
    page.locator(f"#d{Attestation.objects.get().pk}").check()
    shoot(page, shots, "reach-item")
    page.locator("button", has_text="确认所选人员已完成").click()
    expect(page.locator(".msg.success")).to_contain_text("已确认 2 人")
    assert Attestation.objects.filter(status="verified").count() == 2
    page.goto(f"{base}/reach/unit/{live_cast.cs2301.pk}/c/{campaign.pk}/item/pledge_signed/")
    page.locator("button", has_text="提醒未完成").click()
    expect(page.locator(".msg.success")).to_contain_text("已向 1 人发出提醒")
    page.locator("button", has_text="提醒未完成").click()
    expect(page.locator(".msg.info")).to_contain_text("今天已提醒过")
    assert Outbox.objects.count() == 1
    page.goto(f"{base}/reach/unit/{live_cast.cs2301.pk}/link/")  # the reminder's link made it already
    expect(page.locator(".qr svg")).to_be_visible()
    no_sideways_scroll(page)
    shoot(page, shots, "reach-link")


def test_counsellor_prints_slips_on_a_phone_and_a_student_signs_in_with_one(
    phone: BrowserContext, live_server: Any, live_cast: Cast, shots: Path | None
) -> None:
    """The counsellor makes the class's sign-in slips (shown once) and the student types the code."""
    from tests.e2e.conftest import sign_in

    base = live_server.url
    page = phone.new_page()
    sign_in(page, base, "T0003")
    page.goto(f"{base}/units/{live_cast.cs2301.pk}/")
    page.locator("a", has_text="打印学生登录条").click()
    expect(page.locator("h1")).to_have_text("打印学生登录条")
    page.locator("input[name=which][value=all]").check()
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=shown-once]")).to_contain_text("只显示这一次")
    expect(page.locator("[data-testid=slip]")).to_have_count(2)
    expect(page.locator("[data-testid=slip] svg").first).to_be_visible()
    no_sideways_scroll(page)
    shoot(page, shots, "reach-slips")
    slip = page.locator("[data-testid=slip]", has_text="2023001")
    code = slip.locator(".slip-code").inner_text().strip()
    assert re.fullmatch(r"\d{5} \d{5}", code), code

    member = phone.new_page()
    link = actions.ensure_class_link(live_cast.cs2301)
    member.goto(f"{base}/m/{link.token}/signin/")
    member.locator("#id_number").fill("2023001")
    member.locator("#id_code").fill(code)
    member.locator("button[name=login]").click()
    expect(member.locator("h1")).to_have_text("我的任务")
