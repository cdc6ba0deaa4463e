"""Defects found walking the campaign pages on a 390-px phone: exceptions only for closed periods and
withdrawable, one status per record, counts that agree with the status, dates on one line, the periods
a campaign will demand shown before it starts, confirmation before removing an attendee, no codes on
template pages, kindergarten wording, and plan wording where no unit name says 县/区/市."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns import actions, compliance
from fanzha.campaigns import periods as P
from fanzha.campaigns.activities import actions as activity_actions
from fanzha.campaigns.compliance import Status
from fanzha.campaigns.documents import plan as documents
from fanzha.campaigns.models import (
    Attendance,
    Campaign,
    CampaignEvent,
    Obligation,
    PeriodException,
)
from fanzha.campaigns.spec import builtin_templates, fill
from fanzha.org import actions as org_actions
from fanzha.org import names
from tests.campaigns.engine import make_template, obligation, record, start

pytestmark = pytest.mark.django_db

D = date


def judge(ob: Obligation, today: date) -> compliance.ObligationState:
    snap = compliance.snapshot(ob.campaign, Obligation.objects.filter(pk=ob.pk), today)
    (item,) = snap.items
    return snap.state(item, detail=True)


def months_around_today() -> tuple[date, date, date]:
    """(first day of a month three months ago, first of this month, first of next month)."""
    today = timezone.localdate()
    this = today.replace(day=1)
    past = this
    for _ in range(3):
        past = (past - timedelta(days=1)).replace(day=1)
    nxt = (this + timedelta(days=32)).replace(day=1)
    return past, this, nxt


@pytest.fixture
def live(cast) -> Campaign:
    """A campaign running today: begun three months ago, ending in a year."""
    past, _this, _next = months_around_today()
    return start(cast.uni, starts_on=past, ends_on=past + timedelta(days=400))


# 1. Exceptions ----------------------------------------------------------------------------------------


def test_only_a_closed_period_that_is_not_met_may_be_accepted(cast, live):
    past, this, nxt = months_around_today()
    ob = obligation(live, "monthly-meeting", cast.cs2301)
    with pytest.raises(ValidationError) as running:
        actions.accept_period(ob, this, "提前认可", cast.school_admin)
    assert "周期尚未结束" in " ".join(running.value.messages)
    with pytest.raises(ValidationError):
        actions.accept_period(ob, nxt, "提前认可", cast.school_admin)
    assert not PeriodException.objects.exists()
    actions.accept_period(ob, past, "照片丢失", cast.school_admin)  # closed and not met: allowed
    assert PeriodException.objects.count() == 1


def test_the_obligation_page_offers_acceptance_only_for_closed_periods(client, cast, live):
    past, this, _nxt = months_around_today()
    ob = obligation(live, "monthly-meeting", cast.cs2301)
    client.force_login(cast.school_admin)
    response = client.get(reverse("campaign_obligation", args=[live.pk, ob.pk]))
    rows = {row["period"].start: row for row in response.context["paged"].page}
    assert rows[past]["acceptable"] and not rows[this]["acceptable"]


def test_an_acceptance_is_withdrawn_with_a_reason_and_confirmation(client, cast, live):
    past, _this, _nxt = months_around_today()
    ob = obligation(live, "monthly-meeting", cast.cs2301)
    actions.accept_period(ob, past, "学院已核实", cast.school_admin)
    today = timezone.localdate()
    assert next(p for p in judge(ob, today).periods if p.period.start == past).status == Status.EXCEPTED
    with pytest.raises(ValidationError):
        actions.withdraw_exception(ob, past, "  ", cast.school_admin)
    page = reverse("campaign_obligation", args=[live.pk, ob.pk])
    withdraw = reverse("campaign_obligation_withdraw", args=[live.pk, ob.pk])
    # A counsellor can neither see the confirmation nor withdraw.
    client.force_login(cast.counsellor)
    assert client.get(withdraw, {"period": past.isoformat()}).status_code == 403
    assert client.post(withdraw, {"period": past.isoformat(), "reason": "x"}).status_code == 403
    client.force_login(cast.school_admin)
    body = client.get(page).content.decode()
    assert f"{withdraw}?period={past.isoformat()}" in body  # the button beside the acceptance
    confirm = client.get(withdraw, {"period": past.isoformat()})
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "确定撤销" in text and 'name="reason"' in text and "学院已核实" in text
    assert PeriodException.objects.count() == 1  # asking changes nothing
    response = client.post(withdraw, {"period": past.isoformat(), "reason": "核实有误，班会未开"})
    assert response.status_code == 302 and response["Location"] == page
    assert not PeriodException.objects.exists()
    period = next(p for p in judge(ob, today).periods if p.period.start == past)
    assert period.status == Status.OVERDUE
    event = CampaignEvent.objects.get(campaign=live, kind=actions.EVENT_EXCEPTION_WITHDRAWN)
    assert event.actor == cast.school_admin and event.detail["reason"] == "核实有误，班会未开"
    assert event.detail["period"][0] == past.isoformat()
    history = client.get(reverse("campaign_detail", args=[live.pk])).content.decode()
    assert "撤销例外认可" in history and "核实有误，班会未开" in history
    # Nothing left to withdraw.
    with pytest.raises(ValidationError):
        actions.withdraw_exception(ob, past, "再撤销一次", cast.school_admin)


# 2. One status per record -----------------------------------------------------------------------------


def test_a_late_record_shows_one_status(client, cast):
    campaign = start(cast.uni)
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)  # asks for photos and attendees
    (late,) = record(ob, D(2026, 9, 20), entered=D(2026, 12, 7))
    (late_bare,) = record(ob, D(2026, 10, 20), entered=D(2026, 12, 7), evidence=False)
    client.force_login(cast.school_admin)
    body = client.get(reverse("activity_detail", args=[late.pk])).content.decode()
    assert "逾期完成" in body and "不计入" not in body
    # The pre-fix page said both at once for a late record short of evidence; now one badge says it.
    body = client.get(reverse("activity_detail", args=[late_bare.pk])).content.decode()
    standing = re.search(r"<dt>计入情况</dt><dd>(.*?)</dd>", body, re.S)
    assert standing is not None
    shown = standing.group(1)
    assert "不计入" in shown and shown.count("badge") == 1  # one status, not two
    assert "补齐后计为逾期完成" in shown


# 3. Counts agree with the status; dates stay on one line ---------------------------------------------


def test_a_late_record_is_a_record_in_the_counts(client, cast):
    campaign = start(cast.uni)
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)
    record(ob, D(2026, 9, 20), entered=D(2026, 12, 7))
    client.force_login(cast.school_admin)
    body = client.get(
        reverse("campaign_obligation", args=[campaign.pk, ob.pk]) + "?on=2026-12-07"
    ).content.decode()
    september = re.search(r"<tr>\s*<td[^>]*>[^<]*<span class=\"date\">2026-09-01</span>.*?</tr>", body, re.S)
    assert september is not None
    row = september.group(0)
    assert "0/1" not in row and "逾期补录" not in body
    assert "1/1，其中逾期 1" in row and "逾期完成" in row
    # Each date is one unbreakable piece on a phone.
    assert '<span class="date">2026-09-01</span>' in body
    assert '<span class="date">2026-09-30</span>' in body


def test_the_campaign_css_keeps_dates_on_one_line():
    from pathlib import Path

    import fanzha.campaigns

    css = (Path(fanzha.campaigns.__file__).parent / "static" / "campaigns" / "campaigns.css").read_text()
    rule = re.search(r"\.date\s*\{([^}]*)\}", css)
    assert rule is not None and "white-space: nowrap" in rule.group(1)


# 4. The periods a campaign will demand, before it starts ----------------------------------------------


def test_the_start_page_lists_the_periods_that_starting_creates(client, cast):
    template = make_template()
    template.owner_unit = cast.uni
    template.save()
    url = reverse("campaign_start", args=[template.pk])
    client.force_login(cast.school_admin)
    data = {
        "unit": cast.uni.pk,
        "starts_on": "2026-03-04",
        "ends_on": "2026-08-31",
        "organisation": "",
        "ph_leader": "李校长",
        "ph_contact": "王老师",
        "preview": "1",
    }
    response = client.post(url, data)
    assert response.status_code == 200 and not Campaign.objects.exists()  # a preview starts nothing
    preview = {row["code"]: [(p.start, p.end) for p in row["periods"]] for row in response.context["plan"]}
    body = response.content.decode()
    assert '<span class="date">2026-03-04</span> — <span class="date">2026-03-31</span>' in body
    assert '<span class="date">2026-08-01</span> — <span class="date">2026-08-31</span>' in body
    del data["preview"]
    assert client.post(url, data).status_code == 302
    campaign = Campaign.objects.get()
    schedule = compliance.Schedule(campaign, compliance.load_calendars(campaign.unit.path))
    created = {
        rule.code: [(p.start, p.end) for p in schedule.for_rule(rule, campaign.unit.path).periods]
        for rule in campaign.rules.all()
    }
    assert preview == created
    assert len(preview["monthly-meeting"]) == 6 and preview["pledge"] == [(D(2026, 3, 4), D(2026, 3, 31))]
    # The plain form shows the periods for its initial dates too.
    assert client.get(url).context["plan"]


def test_the_preview_is_the_periods_function():
    spec = builtin_templates()["school-publicity"]
    rows = compliance.planned_periods(spec, None, D(2026, 9, 1), D(2027, 1, 31))
    assert [row.code for row in rows] == [rule.code for rule in spec.obligations]
    for row in rows:
        rule = next(r for r in spec.obligations if r.code == row.code)
        due = P.month_day(rule.due, D(2026, 9, 1), D(2027, 1, 31)) if rule.due else None
        assert row.periods == P.campaign_periods(rule.frequency, D(2026, 9, 1), D(2027, 1, 31), due=due)


# 5. Removing an attendee asks first --------------------------------------------------------------------


def test_removing_an_attendee_asks_for_confirmation(client, cast):
    activity = activity_actions.record_activity(
        unit=cast.cs2301,
        kind="class_meeting",
        occurred_on=timezone.localdate(),
        title="主题班会",
        attendance_count=30,
        actor=cast.counsellor,
    )
    activity_actions.add_attendee(activity, cast.monitor, cast.counsellor)
    remove = reverse("activity_remove_attendee", args=[activity.pk, cast.monitor.pk])
    client.force_login(cast.counsellor)
    detail = client.get(reverse("activity_detail", args=[activity.pk])).content.decode()
    assert f'action="{remove}"' not in detail and f'href="{remove}"' in detail
    asked = client.get(remove)
    assert asked.status_code == 200 and cast.monitor.name in asked.content.decode()
    assert "确定移出" in asked.content.decode()
    # A bare POST (an old page, a double tap) only asks too.
    assert client.post(remove).status_code == 200
    assert Attendance.objects.filter(activity=activity, person=cast.monitor).exists()
    response = client.post(remove, {"confirm": "1"})
    assert response.status_code == 302
    assert not Attendance.objects.filter(activity=activity, person=cast.monitor).exists()
    # Someone who may not change the activity is refused before being asked.
    client.force_login(cast.auditor)
    assert client.get(remove).status_code == 403


# 6. No codes on template pages -----------------------------------------------------------------------


def test_template_pages_show_names_not_codes(client, cast):
    template = make_template("uni-own-plan")
    template.owner_unit = cast.uni
    template.save()
    client.force_login(cast.school_admin)
    for url in (
        reverse("template_list"),
        reverse("template_detail", args=[template.code]),
        reverse("campaign_start_choose"),
    ):
        body = client.get(url).content.decode()
        visible = re.sub(r'(href|action|value)="[^"]*"', "", body)
        assert "uni-own-plan" not in visible, url
        assert "<th>代码</th>" not in body and "（UNI）" not in body  # nor the units' codes
        assert "测试行动" in body


# 7. Kindergarten wording -------------------------------------------------------------------------------

SCHOOL_ONLY = ("学生", "学业", "班主任", "校园", "同学", "班会", "课堂纪律", "骗子最喜欢下手")


def test_the_kindergarten_template_speaks_of_children_parents_and_teachers(county_cast):
    spec = builtin_templates()["kindergarten-lesson"]
    plan = documents.build_plan(spec, county_cast.k01, today=D(2026, 9, 1))
    texts = [plan.title] + [f"{b.heading}{b.text}" for b in plan.blocks]
    texts += [spec.summary, *(g.description for g in spec.goals)]
    texts += [f"{r.title}{r.description}" for r in spec.obligations]
    rendered = "\n".join(texts)
    found = [word for word in SCHOOL_ONLY if word in rendered]
    assert found == [], found
    assert "孩子" in rendered and "家长" in rendered and "老师" in rendered


# 8. Plan wording where no unit name says 县/区/市 --------------------------------------------------------


def test_plan_wording_reads_naturally_without_a_place_word(db):
    bureau = org_actions.create_unit(parent=None, name="青山教育局", code="QSJY", kind="bureau_district")
    school = org_actions.create_unit(parent=bureau, name="实验学校", code="SY", kind="school")
    assert names.place(bureau) == "" and names.place(school) == ""
    spec = builtin_templates()["district-education-system"]
    text = "\n".join(
        f"{b.heading}{b.text}" for b in documents.build_plan(spec, bureau, today=D(2026, 9, 1)).blocks
    )
    assert "全区县" not in text and "全_" not in text and "{locality}" not in text
    assert "全辖区教育系统" in text
    police = builtin_templates()["county-police-special-action"]
    text = "\n".join(
        f"{b.heading}{b.text}" for b in documents.build_plan(police, bureau, today=D(2026, 9, 1)).blocks
    )
    assert "全辖区电信网络诈骗" in text and "本局另行制定" in text and "区县局" not in text
    assert fill("全{locality}、本{locality}、{locality}教育局、{locality}局", {"locality": ""}) == (
        "全辖区、本地、教育局、本局"
    )
    assert fill("全{locality}、本{locality}", {"locality": "县"}) == "全县、本县"
