"""Department duties of the county police plan as tracked work (issue 14 item 1): each duty a task of the
department unit it names, with its own period and evidence, a person in charge named by the office, and
each department's standing on the office's dashboard."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns import actions, compliance
from fanzha.campaigns.duties import actions as duty_actions
from fanzha.campaigns.duties import queries as duty_queries
from fanzha.campaigns.models import Campaign, CampaignEvent, CampaignTemplate, Obligation
from fanzha.campaigns.plan_templates.actions import sync_builtin_templates
from fanzha.campaigns.spec import TemplateError, builtin_templates, parse_template
from fanzha.org import actions as org_actions
from fanzha.org.models import MembershipRole, Role, Unit
from tests.campaigns.engine import record
from tests.conftest import Cast, make_staff

POLICE = "county-police-special-action"


def _template() -> CampaignTemplate:
    sync_builtin_templates()
    return CampaignTemplate.objects.get(code=POLICE)


@pytest.fixture
def world(county_cast: Cast) -> Cast:
    c = county_cast
    c.xz = Unit.objects.get(code="XZ")
    # The demo bureau calls its cyber police 网安大队: the template's alias for 网警大队.
    c.wa = org_actions.create_unit(parent=c.police, name="网安大队", code="WA", kind="police_department")
    return c


def _start(c: Cast, starts_on: date | None = None) -> Campaign:
    return actions.start_campaign(
        _template(), c.police, starts_on or timezone.localdate(), None, {}, actor=c.police_admin
    )


def _units(campaign: Campaign, prefix: str) -> set[int]:
    return set(
        Obligation.objects.filter(campaign=campaign, rule__code__startswith=prefix).values_list(
            "unit_id", flat=True
        )
    )


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# Spec ---------------------------------------------------------------------------------------------

MINIMAL = """
code = "duty-test"
title = "部门职责"
issuer_kinds = ["police_bureau"]
levels = ["police_bureau", "police_department"]
[[departments]]
name = "刑侦大队"
%s
duties = ["侦办案件", "串并研判"]
[[sections]]
heading = "部门职责"
auto = "departments"
"""


def test_the_police_template_tracks_every_departments_duties() -> None:
    spec = builtin_templates()[POLICE]
    by_dept: dict[str, list[str]] = {}
    for rule in spec.duty_rules:
        by_dept.setdefault(rule.department, []).append(rule.code)
    assert list(by_dept) == [d.name for d in spec.departments] and len(by_dept) == 13
    assert by_dept["刑侦大队"] == ["duty-1-1", "duty-1-2", "duty-1-3", "duty-1-4", "duty-1-5"]
    first = spec.duty_rules[0]
    assert (first.level, first.unit_names, first.description) == (
        "police_department",
        ("刑侦大队",),
        spec.departments[0].duties[0],
    )
    station = [r for r in spec.duty_rules if r.department == "派出所"]
    assert {(r.level, r.unit_names) for r in station} == {("police_station", ())}
    assert set(spec.all_rules) == set(spec.obligations) | set(spec.duty_rules)


@pytest.mark.parametrize(
    ("fields", "where", "says"),
    [
        ('level = "police_department"\nfrequency = "quarterly"', "departments[0].frequency", "quarterly"),
        ('frequency = "monthly"', "departments[0].level", "level"),
        ('level = "police_department"', "departments[0].level", "frequency"),
        (
            'level = "police_department"\nfrequency = "monthly"\nevidence = ["fax"]',
            "departments[0].evidence",
            "fax",
        ),
        ('level = "police_department"\nfrequency = "once"', "departments[0].frequency", "once"),
        ('level = "nowhere"\nfrequency = "monthly"', "departments[0].level", "nowhere"),
    ],
)
def test_department_tracking_fields_are_validated(fields: str, where: str, says: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(MINIMAL % fields, source="t.toml")
    assert caught.value.where == where and says in caught.value.message


def test_the_template_page_says_how_each_department_shows_its_duties(world: Cast) -> None:
    template = _template()
    body = _client(world.police_admin).get(reverse("template_detail", args=[template.code])).content.decode()
    assert body.count('data-testid="duty-tracking"') == 13
    assert "职责作为工作任务：每月不少于1次，佐证：文档" in body and "monthly" not in body


def test_departments_without_a_frequency_only_print() -> None:
    spec = parse_template(MINIMAL % "", source="t.toml")
    assert spec.departments[0].duties == ("侦办案件", "串并研判") and spec.duty_rules == ()


# Start --------------------------------------------------------------------------------------------


def test_start_gives_each_duty_to_the_department_it_names_only(world: Cast) -> None:
    c = world
    campaign = _start(c)
    assert _units(campaign, "duty-1-") == {c.xz.pk}  # 刑侦大队, not its 反电诈中心 nor the stations
    assert _units(campaign, "duty-2-") == {c.wa.pk}  # 网警大队 by its alias 网安大队
    assert _units(campaign, "duty-13-") == {c.station.pk, c.station2.pk}  # 派出所: every station
    assert _units(campaign, "duty-3-") == set()  # no 经侦大队 in this bureau
    assert Obligation.objects.filter(campaign=campaign, rule__code="duty-1-1").count() == 1
    assert campaign.rules.get(code="duty-1-1").department == "刑侦大队"
    started = CampaignEvent.objects.get(campaign=campaign, kind=actions.EVENT_STARTED)
    unmatched = started.detail["unmatched_departments"]
    assert "经侦大队" in unmatched and len(unmatched) == 10
    assert not {"刑侦大队", "网警大队", "派出所"} & set(unmatched)
    # A department created later gets its duties when the campaign syncs.
    jz = org_actions.create_unit(parent=c.police, name="经侦大队", code="JZ", kind="police_department")
    actions.sync_obligations(campaign)
    assert _units(campaign, "duty-3-") == {jz.pk}


def test_the_start_page_shows_what_starting_creates_and_the_departments_it_misses(world: Cast) -> None:
    c = world
    template = _template()
    url = reverse("campaign_start", args=[template.pk])
    client = _client(c.police_admin)
    data = {"unit": c.police.pk, "starts_on": "2026-03-01", "ends_on": "", "organisation": "", "preview": "1"}
    response = client.post(url, data)
    assert response.status_code == 200 and not Campaign.objects.exists()
    assert "经侦大队" in response.context["unmatched"] and "刑侦大队" not in response.context["unmatched"]
    assert 'id="unmatched-departments"' in response.content.decode()
    preview = {row["code"]: [(p.start, p.end) for p in row["periods"]] for row in response.context["plan"]}
    assert "duty-13-5" in preview
    del data["preview"]
    assert client.post(url, data).status_code == 302
    campaign = Campaign.objects.get()
    schedule = compliance.Schedule(campaign, compliance.load_calendars(campaign.unit.path))
    created = {
        rule.code: [(p.start, p.end) for p in schedule.for_rule(rule, campaign.unit.path).periods]
        for rule in campaign.rules.all()
    }
    assert preview == created
    started = CampaignEvent.objects.get(campaign=campaign, kind=actions.EVENT_STARTED)
    assert started.detail["unmatched_departments"] == response.context["unmatched"]


# Person in charge -------------------------------------------------------------------------------


def test_the_office_names_a_member_of_the_department_in_charge(world: Cast) -> None:
    c = world
    campaign = _start(c)
    duty = Obligation.objects.get(campaign=campaign, rule__code="duty-1-1")
    member = org_actions.save_person(root=c.police, name="刑侦民警甲", kind="police", external_number="P2001")
    org_actions.add_membership(member, c.xz, MembershipRole.MEMBER)
    outsider = org_actions.save_person(
        root=c.police, name="城关民警乙", kind="police", external_number="P2002"
    )
    org_actions.add_membership(outsider, c.station, MembershipRole.MEMBER)
    events = CampaignEvent.objects.filter(kind=duty_actions.EVENT_DUTY_PERSON)

    with pytest.raises(PermissionDenied):  # a station officer is not the office
        duty_actions.assign_person_in_charge(duty, member, c.police_officer)
    with pytest.raises(ValidationError):  # not a member of 刑侦大队
        duty_actions.assign_person_in_charge(duty, outsider, c.police_admin)
    duty.refresh_from_db()
    assert duty.person_in_charge is None and not events.exists()

    duty_actions.assign_person_in_charge(duty, member, c.police_admin)
    duty.refresh_from_db()
    assert duty.person_in_charge == member
    event = events.get()
    assert event.actor == c.police_admin and event.detail["person"] == member.pk
    history = _client(c.police_admin).get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "指定部门职责责任人" in history and duty_actions.EVENT_DUTY_PERSON not in history
    assert "未找到对应单位的部门：" in history and "经侦大队" in history

    # Through the page: the office's form; a station officer cannot reach another department's duty.
    client = _client(c.police_admin)
    page = client.get(reverse("duty_list", args=[campaign.pk, c.xz.pk])).content.decode()
    assert "刑侦民警甲" in page and f'action="{reverse("duty_assign", args=[duty.pk])}"' in page
    response = client.post(reverse("duty_assign", args=[duty.pk]), {f"o{duty.pk}-person": ""})
    assert response.status_code == 302
    duty.refresh_from_db()
    assert duty.person_in_charge is None
    officer = _client(c.police_officer)
    assert (
        officer.post(reverse("duty_assign", args=[duty.pk]), {f"o{duty.pk}-person": member.pk}).status_code
        == 404
    )
    duty.refresh_from_db()
    assert duty.person_in_charge is None and events.count() == 2


# Standing ---------------------------------------------------------------------------------------


def _months_ago(today: date, n: int) -> date:
    first = today.replace(day=1)
    for _ in range(n):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def test_the_office_dashboard_counts_each_departments_duties(world: Cast) -> None:
    c = world
    today = timezone.localdate()
    start = _months_ago(today, 2)  # two closed months, and the current one
    campaign = _start(c, start)
    duties = {
        o.rule.code: o
        for o in Obligation.objects.filter(campaign=campaign, unit=c.xz)
        .exclude(rule__department="")
        .select_related("rule")
    }
    assert len(duties) == 5
    month1, month2 = start + timedelta(days=3), _months_ago(today, 1) + timedelta(days=3)
    record(duties["duty-1-1"], month1, month2, today)  # every month: done (the old ones entered late)
    record(duties["duty-1-2"], today)  # this month only: two months missed
    record(duties["duty-1-3"], today, evidence=False)  # no document: does not count

    rows = duty_queries.standing(campaign, duty_queries.duties_for(c.police_admin, campaign), today)
    xz = next(r for r in rows if r.unit == c.xz)
    # By hand: done this month 1-1 and 1-2; due 1-3, 1-4, 1-5; missed months: 1-2 two, 1-3..1-5 two each.
    assert (xz.duties, xz.done, xz.due, xz.overdue) == (5, 2, 3, 8)
    station = next(r for r in rows if r.unit == c.station)
    assert (station.duties, station.done, station.due, station.overdue) == (5, 0, 5, 10)
    assert [r.department for r in rows][:2] == ["刑侦大队", "网警大队"]  # the plan's order

    page = _client(c.police_admin).get(reverse("campaign_dashboard", args=[campaign.pk]))
    shown = {item["row"].unit.pk: item for item in page.context["duty_rows"]}
    assert (shown[c.xz.pk]["row"].done, shown[c.xz.pk]["row"].overdue) == (2, 8)
    assert shown[c.xz.pk]["url"] == reverse("duty_list", args=[campaign.pk, c.xz.pk])
    assert 'id="department-duties"' in page.content.decode()
    # The Chinese pages show names, not codes.
    client = _client(c.police_admin)
    for url in (
        reverse("duty_standing", args=[campaign.pk]),
        reverse("duty_list", args=[campaign.pk, c.xz.pk]),
    ):
        body = client.get(url).content.decode()
        assert (
            "刑侦大队" in body
            and not re.search(r"duty-\d", body)
            and "police_" not in body
            and "monthly" not in body
        )


def test_a_department_sees_and_records_only_its_own_duties(world: Cast) -> None:
    c = world
    campaign = _start(c)
    xz_user = make_staff(c.police, "P3001", "刑侦内勤", Role.POLICE_OFFICER, c.xz, "police")
    client = _client(xz_user)
    page = client.get(reverse("duty_standing", args=[campaign.pk]))
    assert [item["row"].unit for item in page.context["rows"]] == [c.xz]
    assert client.get(reverse("duty_list", args=[campaign.pk, c.station.pk])).status_code == 404
    listing = client.get(reverse("duty_list", args=[campaign.pk, c.xz.pk]))
    assert listing.status_code == 200 and len(listing.context["duties"]) == 5
    first = listing.context["duties"][0]
    assert first["form"] is None  # a department does not name its own person in charge
    assert f"obligation={first['obligation'].pk}" in first["record_url"]
    # The record form opens with the duty's obligation chosen.
    form = client.get(first["record_url"])
    assert form.status_code == 200
    assert str(form.context["form"]["obligation"].value()) == str(first["obligation"].pk)
    # The office's dashboard table is not shown to a department.
    assert not client.get(reverse("campaign_dashboard", args=[campaign.pk])).context.get("duty_rows")
    # The person in charge shows on the duty list, the department's dashboard and the duty's own page.
    member = org_actions.save_person(root=c.police, name="刑侦民警丙", kind="police", external_number="P3002")
    org_actions.add_membership(member, c.xz, MembershipRole.MEMBER)
    duty_actions.assign_person_in_charge(first["obligation"], member, c.police_admin)
    assert "刑侦民警丙" in client.get(reverse("duty_list", args=[campaign.pk, c.xz.pk])).content.decode()
    board = client.get(reverse("campaign_dashboard", args=[campaign.pk]) + f"?unit={c.xz.pk}")
    shown = {row["state"].item.pk: row["person"] for row in board.context["own"]}
    assert shown[first["obligation"].pk] == member
    page = client.get(first["url"]).content.decode()
    assert 'data-testid="person-in-charge">刑侦民警丙' in page


def test_a_duty_is_reminded_to_its_person_in_charge(world: Cast) -> None:
    from fanzha.notify.models import ChannelKind, Outbox

    c = world
    today = timezone.localdate()
    campaign = _start(c, today.replace(day=1))
    duty = Obligation.objects.get(campaign=campaign, rule__code="duty-1-1")
    member = org_actions.save_person(root=c.police, name="刑侦民警丁", kind="police", external_number="P4001")
    org_actions.add_membership(member, c.xz, MembershipRole.MEMBER)
    user = org_actions.create_account(member, "Pass-word-2026!")
    duty_actions.assign_person_in_charge(duty, member, c.police_admin)
    actions.queue_reminders(today, days=40)
    mine = Outbox.objects.filter(idempotency_key__startswith=f"reminder:{duty.pk}:")
    assert [(r.channel_kind, r.user) for r in mine] == [(ChannelKind.IN_APP, user)]
    assert "责任人：刑侦民警丁" in mine.get().body
