"""Trace-back (倒查): the victim's reach record and the units' compliance as they were when the case
happened, plain findings, lessons kept across regeneration, and the printable page."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns import actions as campaigns
from fanzha.campaigns.models import Activity, Attendance, Campaign, CampaignTemplate, Evidence, Obligation
from fanzha.campaigns.plan_templates.actions import sync_builtin_templates
from fanzha.cases import actions, queries
from fanzha.cases.models import CaseEvent, TraceBack
from fanzha.cases.traceback import actions as tb
from fanzha.cases.traceback.views import panel
from fanzha.learn.models import Attempt, QuizPaper
from fanzha.reach import actions as reach

pytestmark = pytest.mark.django_db

START = date(2026, 3, 1)
OCCURRED = datetime(2026, 5, 20, 10, 0)  # local time; a Wednesday in the campaign's third month


def aware(value: datetime) -> datetime:
    return timezone.make_aware(value)


@pytest.fixture
def campaign(cast) -> Campaign:
    sync_builtin_templates()
    template = CampaignTemplate.objects.get(code="university-fraud-free-campus")
    return campaigns.start_campaign(template, cast.uni, START, None, {})


def meeting(
    campaign, unit, day: date, *people, kind: str = "class_meeting", rule: str | None = None
) -> Activity:
    obligation = Obligation.objects.get(campaign=campaign, unit=unit, rule__code=rule) if rule else None
    activity = Activity.objects.create(
        campaign=campaign if obligation else None,
        obligation=obligation,
        unit=unit,
        kind=kind,
        occurred_on=day,
        title=f"{kind} {day}",
    )
    for person in people:
        Attendance.objects.create(activity=activity, person=person, method=Attendance.Method.MANUAL)
    if obligation is not None and "photos" in obligation.rule.evidence:  # the evidence its rule asks for
        Evidence.objects.create(
            activity=activity,
            file="evidence/m.png",
            kind="photo",
            content_type="image/png",
            size=1,
            sha256=f"{activity.pk:064d}",
            original_name="m.png",
        )
    # Recorded on the day it took place (a record entered later is judged as entered later).
    Activity.objects.filter(pk=activity.pk).update(created_at=aware(datetime.combine(day, time(18))))
    return activity


def report(cast, make_intake, victim=None, **changes):
    data = make_intake(cast.cs2301, victim, now=aware(OCCURRED + timedelta(hours=5)), **changes)
    return actions.report_case(data, cast.counsellor, now=aware(OCCURRED + timedelta(days=1)))


@pytest.fixture
def world(cast, campaign):
    """The student's record around the case: a pledge before it, the app declared only after it, a
    class meeting attended in April, a lecture missed, one in May dated after the case."""
    reach.attest(campaign, cast.student, "pledge_signed", "declared", at=aware(OCCURRED - timedelta(days=30)))
    reach.attest(campaign, cast.student, "app_installed", "declared", at=aware(OCCURRED + timedelta(hours=1)))
    meeting(campaign, cast.cs2301, date(2026, 4, 15), cast.student, cast.monitor, rule="six-monthly-meeting")
    meeting(campaign, cast.cs2301, date(2026, 4, 22), cast.monitor, kind="lecture")
    meeting(campaign, cast.cs2301, date(2026, 5, 25), cast.student, rule="six-monthly-meeting")
    paper = QuizPaper.objects.create(code="p1", title="反诈测试", audience="student", rules={"single": 1})
    for at, score in ((OCCURRED - timedelta(days=3), 60), (OCCURRED + timedelta(days=2), 95)):
        Attempt.objects.create(
            paper=paper,
            person=cast.student,
            questions=[],
            started_at=aware(at),
            deadline=aware(at + timedelta(minutes=20)),
            submitted_at=aware(at + timedelta(minutes=10)),
            score=score,
            passed=score >= 80,
        )
    return campaign


def items_of(traceback: TraceBack) -> dict[str, dict]:
    (entry,) = traceback.snapshot["campaigns"]
    return {row["item"]: row for row in entry["items"]}


def test_report_generates_traceback_as_of_the_case(cast, make_intake, world):
    case = report(cast, make_intake, cast.student)
    traceback = TraceBack.objects.get(case=case)
    assert traceback.as_of == case.occurred_at
    items = items_of(traceback)
    assert items["pledge_signed"]["done"] is True
    assert items["app_installed"]["done"] is False  # declared after the case: not done then
    assert items["app_installed"]["status"] == ""
    assert traceback.snapshot["quiz"] == {"attempts": 1, "best": 60, "passed": False}
    activities = traceback.snapshot["activities"]
    assert [a["on"] for a in activities["attended"]] == ["2026-04-15"]  # not the one after the case
    assert activities["missed"] == 1 and activities["missed_list"][0]["kind"] == "lecture"
    texts = tb.findings(traceback)
    assert "受害人案发时未安装国家反诈中心APP" in texts
    assert "受害人案发前参加反诈知识答题1次，均未合格（最高60分）" in texts
    assert not any("承诺书" in t for t in texts)
    assert any("缺席" in t and "1次" in t for t in texts)


def test_compliance_at_the_date(cast, make_intake, world):
    case = report(cast, make_intake, cast.student)
    (entry,) = TraceBack.objects.get(case=case).snapshot["campaigns"]
    units = [u["unit"] for u in entry["compliance"]]
    assert units == ["计科2301班", "计算机学院", "示范大学"]  # the case's unit up to the campaign's
    rules = {r["rule"]: r for r in entry["compliance"][0]["rules"]}
    meetings = rules["six-monthly-meeting"]
    # March missed, April held; May still open on 20 May (the meeting of 25 May came after the case).
    assert (meetings["done"], meetings["overdue"]) == (1, 1)
    assert meetings["current"] == {"start": "2026-05-01", "end": "2026-05-31", "count": 0, "status": "due"}
    assert meetings["percent"] == 50
    texts = tb.findings(TraceBack.objects.get(case=case))
    assert any(re.fullmatch("计科2301班：.*主题班会——截至案发时有1期逾期未完成", t) for t in texts)
    # A semester past its half and unmet is a finding; a year in its third month is not yet.
    assert any(t.startswith("计算机学院：“六个一”之五") and "已过半仍未完成" in t for t in texts)
    assert not any("每学年必须讲一次防骗课" in t for t in texts)


def test_no_campaign_and_resident_victim(cast, make_intake):
    case = report(cast, make_intake)
    traceback = TraceBack.objects.get(case=case)
    assert traceback.snapshot["roster"] is False and traceback.snapshot["campaigns"] == []
    assert tb.findings(traceback) == [
        "受害人不在花名册中，无法倒查其本人的宣传覆盖情况",
        "案发时所在单位没有进行中的专项行动",
    ]


def test_campaign_closed_before_the_case_does_not_count(cast, make_intake, campaign):
    campaigns.close_campaign(campaign)  # closed now, after 20 May: it still ran then
    case = report(cast, make_intake, cast.student)
    assert len(case.traceback.snapshot["campaigns"]) == 1
    later = aware(datetime(2027, 1, 5, 9, 0))
    assert queries.campaigns_at(case, later) == []


def test_regenerate_replaces_snapshot_keeps_lessons(cast, make_intake, world):
    case = report(cast, make_intake, cast.student)
    traceback = tb.set_lessons(case.traceback, cast.counsellor, "加强APP安装核查")
    assert case.events.filter(kind=CaseEvent.Kind.TRACEBACK, detail__step="lessons").count() == 1
    # A staff check dated before the case, entered late: the regenerated snapshot sees it.
    reach.attest(
        world,
        cast.student,
        "app_installed",
        "verified",
        at=aware(OCCURRED - timedelta(days=1)),
        actor=cast.counsellor,
    )
    assert items_of(TraceBack.objects.get(pk=traceback.pk))["app_installed"]["done"] is False
    again = tb.regenerate_traceback(case, cast.counsellor)
    assert again.pk == traceback.pk and TraceBack.objects.count() == 1
    assert again.lessons == "加强APP安装核查"
    assert items_of(again)["app_installed"]["done"] is True
    assert "受害人案发时未安装国家反诈中心APP" not in tb.findings(again)


@pytest.mark.parametrize("who", ["auditor", "outsider"])
def test_lessons_refused_without_case_edit(cast, make_intake, who):
    case = report(cast, make_intake, cast.student)
    user = getattr(cast, who)
    with pytest.raises(PermissionDenied):
        tb.set_lessons(case.traceback, user, "x")
    with pytest.raises(PermissionDenied):
        tb.regenerate_traceback(case, user)
    case.traceback.refresh_from_db()
    assert case.traceback.lessons == ""
    assert not case.events.filter(kind=CaseEvent.Kind.TRACEBACK).exists()


def test_page_printable_and_scoped(client, cast, make_intake, world):
    case = report(cast, make_intake, cast.student)
    url = reverse("traceback_detail", args=[case.pk])
    client.force_login(cast.auditor)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "受害人案发时未安装国家反诈中心APP" in html
    assert "cases/traceback-print.css" in html and "cases/print.js" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script
    assert "张三" not in html and "张*" in html  # the victim masked
    response = client.post(reverse("traceback_lessons", args=[case.pk]), {"lessons": "x"})
    assert response.status_code == 403
    client.force_login(cast.outsider)
    assert client.get(url).status_code == 404
    client.force_login(cast.counsellor)
    response = client.post(reverse("traceback_lessons", args=[case.pk]), {"lessons": "班会要点名"})
    assert response.status_code == 302
    assert TraceBack.objects.get(case=case).lessons == "班会要点名"


def test_panel_lists_findings(cast, make_intake, world):
    case = report(cast, make_intake, cast.student)
    context = panel(case, cast.auditor)
    assert "受害人案发时未安装国家反诈中心APP" in context["findings"]
    assert context["url"] == reverse("traceback_detail", args=[case.pk])


def test_case_without_traceback_is_computed_on_read_and_stored_on_write(client, cast, make_intake, world):
    case = report(cast, make_intake, cast.student)
    TraceBack.objects.filter(case=case).delete()
    client.force_login(cast.counsellor)
    html = client.get(reverse("traceback_detail", args=[case.pk])).content.decode()
    assert "受害人案发时未安装国家反诈中心APP" in html
    assert not TraceBack.objects.filter(case=case).exists()  # a read writes nothing
    client.post(reverse("traceback_lessons", args=[case.pk]), {"lessons": "补做"})
    assert TraceBack.objects.get(case=case).lessons == "补做"


def test_a_verified_quiz_pass_answers_for_the_quiz(cast, make_intake, campaign):
    """A pass verified by staff (a paper quiz) before the case: no finding about online attempts."""
    reach.attest(campaign, cast.student, "quiz_passed", "declared", at=aware(OCCURRED - timedelta(days=5)))
    texts = tb.findings(TraceBack.objects.get(case=report(cast, make_intake, cast.student)))
    assert not any("答题" in t for t in texts)


def test_no_quiz_at_all_is_a_finding(cast, make_intake, campaign):
    texts = tb.findings(TraceBack.objects.get(case=report(cast, make_intake, cast.student)))
    assert any("答题" in t for t in texts)
