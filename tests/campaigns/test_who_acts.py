"""Whoever a plan makes responsible can do its work: start the campaigns of their level, edit the plan,
record activities with evidence, publish articles, within their subtree (issue "Everyone who must act
can sign in and act", items 2 and 3).

Each test does the work through the pages, as the person would, and checks what was written.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns.models import Activity, Campaign, CampaignTemplate
from fanzha.campaigns.plan_templates.actions import sync_builtin_templates
from fanzha.learn.models import Article
from fanzha.org import actions as org
from fanzha.org.models import Role, Unit
from tests.campaigns import files

pytestmark = pytest.mark.django_db


def form_data(form: Any, **extra: Any) -> dict[str, Any]:
    """What a browser sends for ``form`` as the page shows it, with ``extra`` typed in."""
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        value = value() if callable(value) else value
        if isinstance(value, date):
            value = value.isoformat()
        data[name] = "" if value is None else value
    data.update(extra)
    return data


def start_through_the_page(client: Any, user: Any, code: str, unit: Unit, **extra: Any) -> Any:
    """Open the start page of the built-in template ``code`` as ``user`` and send it for ``unit``."""
    sync_builtin_templates()
    template = CampaignTemplate.objects.get(code=code, source=CampaignTemplate.Source.BUILTIN)
    client.force_login(user)
    url = reverse("campaign_start", args=[template.pk])
    page = client.get(url)
    if page.status_code != 200:
        return page
    today = timezone.localdate()
    data = form_data(page.context["form"], unit=unit.pk, starts_on=today.isoformat(), **extra)
    return client.post(url, data)


def record_through_the_page(client: Any, user: Any, unit: Unit, title: str = "反诈宣传进社区") -> Any:
    client.force_login(user)
    return client.post(
        reverse("activity_record"),
        {
            "unit": unit.pk,
            "kind": "outreach",
            "occurred_on": timezone.localdate().isoformat(),
            "title": title,
            "attendance_count": "80",
            "camera": [files.upload("现场.jpg", files.jpeg())],
        },
    )


def publish_through_the_page(client: Any, user: Any, unit: Unit, title: str) -> Any:
    client.force_login(user)
    return client.post(
        reverse("learn_article_publish"),
        {
            "unit": unit.pk,
            "title": title,
            "kind": "case",
            "audiences": ["public"],
            "published_on": timezone.localdate().isoformat(),
            "body": "近期我县发生多起冒充客服退款诈骗案件。\n\n退款不会要求您转账。",
        },
    )


@pytest.fixture
def police(cast) -> dict[str, Unit]:
    """A county police bureau with a station, the police liaison granted at the bureau (as in the demo)."""
    bureau = org.create_unit(parent=None, name="青山县公安局", code="QSGA", kind="police_bureau")
    station = org.create_unit(parent=bureau, name="城关派出所", code="PCS01", kind="police_station")
    org.grant_role(cast.police_liaison, bureau, Role.POLICE_LIAISON)
    return {"bureau": bureau, "station": station}


def test_the_police_liaison_runs_the_police_plan(client, cast, police):
    """Found by the tester: 403 on starting, editing the plan, recording and publishing."""
    liaison = cast.police_liaison
    response = start_through_the_page(
        client, liaison, "county-police-special-action", police["bureau"], ph_leader="郑副局长"
    )
    assert response.status_code == 302, getattr(response, "context", None) and response.context["form"].errors
    campaign = Campaign.objects.get()
    assert (campaign.unit, campaign.created_by) == (police["bureau"], liaison)
    assert "全县电信网络诈骗案件数同比下降" in [g.description for g in campaign.goals.all()]

    sections = client.get(reverse("campaign_sections", args=[campaign.pk]))
    assert sections.status_code == 200
    edited = form_data(sections.context["form"], sec_0="民警进社区、进学校，宣传要覆盖到每家每户。")
    assert client.post(reverse("campaign_sections", args=[campaign.pk]), edited).status_code == 302
    campaign.refresh_from_db()
    assert campaign.sections[0]["body"] == "民警进社区、进学校，宣传要覆盖到每家每户。"

    response = record_through_the_page(client, liaison, police["station"], "“五进”宣传进市场")
    assert response.status_code == 302
    activity = Activity.objects.get(title="“五进”宣传进市场")
    assert (activity.unit, activity.recorded_by, activity.evidence.count()) == (police["station"], liaison, 1)
    assert activity.obligation is None or activity.obligation.campaign == campaign

    response = publish_through_the_page(client, liaison, police["station"], "警惕冒充客服退款")
    assert response.status_code == 302
    assert Article.objects.get(title="警惕冒充客服退款").owner_unit == police["station"]


def test_the_police_liaison_runs_nothing_at_the_schools(client, cast, police):
    """At a school the liaison takes cases, not the school's campaigns, activities or articles."""
    before = (Campaign.objects.count(), Activity.objects.count(), Article.objects.count())
    response = start_through_the_page(client, cast.police_liaison, "university-fraud-free-campus", cast.uni)
    assert response.status_code == 400 and "unit" in response.context["form"].errors
    response = record_through_the_page(client, cast.police_liaison, cast.cs2301)
    assert response.status_code == 400 and "unit" in response.context["form"].errors
    response = publish_through_the_page(client, cast.police_liaison, cast.cs2301, "越界文章")
    assert response.status_code == 400 and "unit" in response.context["form"].errors
    assert (Campaign.objects.count(), Activity.objects.count(), Article.objects.count()) == before


def test_the_security_office_leads_and_records_the_university_action(client, cast):
    """篇二: the security office (保卫处) leads the university's action; it could not record anything."""
    officer = org.create_account(
        org.save_person(root=cast.uni, name="保卫处干事", kind="staff", external_number="S0001"), "x"
    )
    org.grant_role(officer, cast.uni, Role.SECURITY_OFFICER)
    response = start_through_the_page(client, officer, "university-fraud-free-campus", cast.uni)
    assert response.status_code == 302
    assert Campaign.objects.get().unit == cast.uni
    response = record_through_the_page(client, officer, cast.d1, "宿舍楼反诈宣传")
    assert response.status_code == 302
    assert Activity.objects.get(title="宿舍楼反诈宣传").recorded_by == officer


# Rooms reached through one's students ---------------------------------------------------------------


@pytest.fixture
def d1_102(cast) -> Unit:
    """A room of the same building where none of the counsellor's students live (only 王五 of maths)."""
    room = org.create_unit(parent=cast.d1, name="102室", code="D1-102", kind="dorm_room")
    org.add_membership(cast.math_student, room)
    return room


def test_a_counsellor_records_at_the_room_where_their_student_lives(client, cast, d1_102):
    """Found by the tester: rooms sit under buildings, outside the counsellor's subtree."""
    response = record_through_the_page(client, cast.counsellor, cast.d1_101, "走访101室")
    assert response.status_code == 302
    activity = Activity.objects.get(title="走访101室")
    assert (activity.unit, activity.recorded_by) == (cast.d1_101, cast.counsellor)
    assert client.get(reverse("activity_detail", args=[activity.pk])).status_code == 200
    # A room with none of theirs is not a choice; nothing is written.
    response = record_through_the_page(client, cast.counsellor, d1_102, "走访102室")
    assert response.status_code == 400 and "unit" in response.context["form"].errors
    assert not Activity.objects.filter(title="走访102室").exists()


def test_the_college_admin_records_at_their_students_room(client, cast, d1_102):
    assert record_through_the_page(client, cast.college_admin, cast.d1_101, "学院走访宿舍").status_code == 302
    assert record_through_the_page(client, cast.college_admin, d1_102, "越界走访").status_code == 400


def test_the_room_page_shows_their_students_and_no_other_resident(client, cast, d1_102):
    client.force_login(cast.counsellor)
    body = client.get(reverse("unit_detail", args=[cast.d1_101.pk])).content.decode()
    assert "张三" in body and "王五" not in body
    listed = client.get(reverse("person_list") + f"?unit={cast.d1_101.pk}").content.decode()
    assert "张三" in listed and "王五" not in listed
    assert client.get(reverse("person_detail", args=[cast.math_student.pk])).status_code == 404
    # The building, the other room and anything else of the dormitory stay out of sight.
    for unit in (cast.d1, d1_102):
        assert client.get(reverse("unit_detail", args=[unit.pk])).status_code == 404
    # Seeing the room is not changing it.
    response = client.post(
        reverse("unit_rename", args=[cast.d1_101.pk]), {"rename-name": "改名室", "rename-code": "X"}
    )
    assert response.status_code == 403
    cast.d1_101.refresh_from_db()
    assert cast.d1_101.name == "101室"


def test_an_activity_at_the_room_lists_only_their_students_as_attendees(client, cast):
    activity = Activity.objects.create(
        unit=cast.d1_101,
        kind="dorm_visit",
        occurred_on=timezone.localdate(),
        title="宿舍夜谈",
        recorded_by=cast.school_admin,
    )
    from fanzha.campaigns.activities import actions as activity_actions

    activity_actions.add_attendees(activity, [cast.student, cast.math_student], cast.school_admin)
    client.force_login(cast.counsellor)
    body = client.get(reverse("activity_detail", args=[activity.pk])).content.decode()
    assert "张三" in body and "王五" not in body
    client.force_login(cast.school_admin)
    body = client.get(reverse("activity_detail", args=[activity.pk])).content.decode()
    assert "张三" in body and "王五" in body


def test_the_room_obligation_page_hides_the_dorm_head_from_a_counsellor(client, cast):
    """The room's responsible member (its dorm head, 王五) is another resident: not named to them."""
    from fanzha.org.models import Membership, MembershipRole

    Membership.objects.filter(person=cast.math_student, unit=cast.d1_101).update(
        role=MembershipRole.DORM_HEAD
    )
    sync_builtin_templates()
    template = CampaignTemplate.objects.get(code="university-fraud-free-campus")
    from fanzha.campaigns.actions import start_campaign

    today = timezone.localdate()
    campaign = start_campaign(template, cast.uni, today - timedelta(days=10), None, {})
    obligation = campaign.obligations.get(unit=cast.d1_101, rule__code="four-publicise")
    url = reverse("campaign_obligation", args=[campaign.pk, obligation.pk])
    client.force_login(cast.counsellor)
    response = client.get(url)
    assert response.status_code == 200 and "王五" not in response.content.decode()
    assert response.context["record_url"]  # theirs to record
    client.force_login(cast.school_admin)
    assert "王五" in client.get(url).content.decode()


def test_an_activity_whose_recorder_is_gone_still_opens(client, cast, d1_102):
    """An activity kept after its recorder's account was removed (recorded_by NULL) shows "—", not a 500."""
    record_through_the_page(client, cast.counsellor, cast.d1_101, "走访101室")
    activity = Activity.objects.get(title="走访101室")
    Activity.objects.filter(pk=activity.pk).update(recorded_by=None)
    response = client.get(reverse("activity_detail", args=[activity.pk]))
    assert response.status_code == 200 and "记录人" in response.content.decode()
