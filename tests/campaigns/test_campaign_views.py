"""Campaign pages for each member of the cast: 200 / 404 / 403, refused writes change nothing,
and the dashboard's query count does not grow with the number of classes."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from fanzha.campaigns import actions
from fanzha.campaigns.models import Campaign, CampaignTemplate, SchoolCalendar
from fanzha.org import actions as org
from fanzha.org.models import Unit
from tests.campaigns.engine import START, make_template, obligation, record, start

pytestmark = pytest.mark.django_db

SEES_UNI = {"school_admin", "college_admin", "counsellor", "police_liaison", "auditor"}
MANAGES_UNI = {"school_admin"}


@pytest.fixture
def template(cast) -> CampaignTemplate:
    template = make_template()
    template.owner_unit = cast.uni
    template.save()
    return template


@pytest.fixture
def campaign(cast, template) -> Campaign:
    return start(cast.uni, template)


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


def post(client, user, url, data=None):
    client.force_login(user)
    return client.post(url, data or {})


# Reading pages --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["campaign_detail", "campaign_dashboard", "campaign_periods", "campaign_calendar"]
)
def test_campaign_pages_for_each_cast_member(client, cast, campaign, name):
    url = reverse(name, args=[campaign.pk])
    for who, user in cast.users().items():
        response = get(client, user, url)
        expected = 200 if who in SEES_UNI else 404
        assert response.status_code == expected, (who, response.status_code)


def test_campaign_list_shows_what_is_in_scope(client, cast, campaign):
    for who, user in cast.users().items():
        response = get(client, user, reverse("campaign_list"))
        assert response.status_code == 200
        assert (campaign.title in response.content.decode()) == (who in SEES_UNI), who


def test_pages_need_login(client, campaign):
    for url in (reverse("campaign_list"), reverse("campaign_dashboard", args=[campaign.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_detail_shows_goals_rules_and_sections(client, cast, campaign):
    body = get(client, cast.auditor, reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "示范大学学生防骗知晓率达到100%" in body
    assert "每月一次主题班会" in body and "每月" in body and "班长" in body
    assert "示范大学全面开展防范电信网络诈骗工作" in body
    assert reverse("campaign_close", args=[campaign.pk]) not in body  # not a manager
    body = get(client, cast.school_admin, reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert reverse("campaign_close", args=[campaign.pk]) in body


def test_dashboard_drills_down_to_the_responsible_person(client, cast, campaign):
    url = reverse("campaign_dashboard", args=[campaign.pk])
    ob = obligation(campaign, "weekly-article", cast.cs2302)
    record(ob, date(2026, 3, 3))
    response = get(client, cast.school_admin, f"{url}?on=2026-03-20")
    rows = response.context["paged"].page.object_list
    assert [row["unit"] for row in rows][:2] == [cast.ma, cast.cs]  # lagging first
    assert f"?unit={cast.cs.pk}&on=2026-03-20" in rows[1]["url"]
    response = client.get(f"{url}?unit={cast.cs.pk}&on=2026-03-20")
    assert [row["unit"] for row in response.context["paged"].page.object_list] == [
        cast.cs2301,
        cast.cs2302,
    ]
    response = client.get(f"{url}?unit={cast.cs2301.pk}&on=2026-03-20")
    own = response.context["own"]
    assert len(own) == 5
    daily = next(row for row in own if row["state"].rule.code == "daily-tip")
    assert daily["person"] == cast.monitor
    body = response.content.decode()
    assert reverse("person_detail", args=[cast.monitor.pk]) in body
    assert [c["unit"] for c in response.context["crumbs"]] == [cast.uni, cast.cs]
    # And on to the obligation's periods.
    response = client.get(daily["url"])
    assert response.status_code == 200
    assert response.context["person"] == cast.monitor
    periods = response.context["paged"].page.object_list
    assert periods[0]["period"].start == date(2026, 3, 21)  # the next period first, then the ones begun
    assert periods[1]["period"].start == date(2026, 3, 20)


def test_counsellor_sees_only_their_class(client, cast, campaign):
    url = reverse("campaign_dashboard", args=[campaign.pk])
    response = get(client, cast.counsellor, url)
    assert response.context["at"] is None
    assert [row["unit"] for row in response.context["paged"].page.object_list] == [cast.cs2301]
    assert client.get(f"{url}?unit={cast.cs2302.pk}").status_code == 404
    assert client.get(f"{url}?unit={cast.uni.pk}").status_code == 404
    assert client.get(f"{url}?unit={cast.cs2301.pk}").status_code == 200
    mine = obligation(campaign, "daily-tip", cast.cs2301)
    other = obligation(campaign, "daily-tip", cast.cs2302)
    assert client.get(reverse("campaign_obligation", args=[campaign.pk, mine.pk])).status_code == 200
    assert client.get(reverse("campaign_obligation", args=[campaign.pk, other.pk])).status_code == 404


def test_units_outside_the_campaign_or_bad_values_are_404(client, cast, campaign):
    url = reverse("campaign_dashboard", args=[campaign.pk])
    client.force_login(cast.school_admin)
    assert client.get(f"{url}?unit={cast.oc01.pk}").status_code == 404
    assert client.get(f"{url}?unit=abc").status_code == 404
    assert client.get(f"{url}?on=not-a-date").status_code == 200
    assert client.get(reverse("campaign_dashboard", args=[campaign.pk + 100])).status_code == 404
    assert client.get(reverse("campaign_obligation", args=[campaign.pk, 10**6])).status_code == 404


def test_calendar_and_period_list(client, cast, campaign):
    record(obligation(campaign, "monthly-meeting", cast.cs2301), date(2026, 3, 10))
    url = reverse("campaign_calendar", args=[campaign.pk])
    response = get(client, cast.school_admin, f"{url}?month=2026-03&on=2026-04-02")
    weeks = response.context["weeks"]
    assert weeks[0][0]["day"] == date(2026, 2, 23) and len(weeks[0]) == 7
    cell = next(c for week in weeks for c in week if c["day"] == date(2026, 3, 31))
    monthly = next(e for e in cell["entries"] if e["title"] == "每月一次主题班会")
    assert (monthly["done"], monthly["overdue"]) == (1, 2) and monthly["css"] == "bad"
    assert "?month=2026-04" in response.context["next_query"]
    response = client.get(f"{reverse('campaign_periods', args=[campaign.pk])}?month=2026-03&on=2026-04-02")
    assert any(e["title"] == "每月一次主题班会" for e in response.context["entries"])
    response = client.get(f"{url}?month=2026-03&unit={cast.cs2301.pk}&on=2026-04-02")
    cell = next(c for week in response.context["weeks"] for c in week if c["day"] == date(2026, 3, 31))
    monthly = next(e for e in cell["entries"] if e["title"] == "每月一次主题班会")
    assert monthly["url"].startswith(reverse("campaign_obligation", args=[campaign.pk, 0])[:-2])


# Writes --------------------------------------------------------------------------------------------


def test_start_choose_and_form_need_unit_editing(client, cast, template):
    for who, user in cast.users().items():
        status = get(client, user, reverse("campaign_start_choose")).status_code
        expected = 200 if who in {"school_admin", "college_admin", "outsider"} else 403
        assert status == expected, who
    assert get(client, cast.outsider, reverse("campaign_start", args=[template.pk])).status_code == 404
    response = get(client, cast.school_admin, reverse("campaign_start", args=[template.pk]))
    assert response.status_code == 200
    assert "ph_leader" in response.context["form"].fields and "sec_1.0" in response.context["form"].fields


def start_data(unit: Unit, **extra: str) -> dict[str, str]:
    """The start form as posted: the unit is picked (its id) from the units the page lists."""
    return {
        "unit": str(unit.pk),
        "starts_on": START.isoformat(),
        "ends_on": "",
        "organisation": "",
        "ph_leader": "李校长",
        "ph_contact": "王老师",
        "sec_0": "{organisation}由{leader}负责。",
        "sec_1": "",
        "sec_1.0": "每周推送。",
        "sec_1.1": "年底评选。",
        **extra,
    }


def test_start_a_campaign_from_the_form(client, cast, template):
    response = post(
        client, cast.school_admin, reverse("campaign_start", args=[template.pk]), start_data(cast.uni)
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert response["Location"] == reverse("campaign_detail", args=[campaign.pk])
    assert campaign.sections[0]["body"] == "示范大学由李校长负责。"
    assert campaign.ends_on == date(2027, 2, 28) and campaign.created_by == cast.school_admin
    assert campaign.obligations.count() == 16


def test_refused_starts_change_nothing(client, cast, template):
    url = reverse("campaign_start", args=[template.pk])
    response = post(client, cast.college_admin, url, start_data(cast.uni))  # above their scope
    assert response.status_code == 400 and "unit" in response.context["form"].errors
    response = post(client, cast.college_admin, url, start_data(cast.cs2301))  # a class may not start it
    assert response.status_code == 400 and response.context["form"].errors
    response = post(client, cast.school_admin, url, start_data(cast.uni, ends_on="2026-01-01"))
    assert response.status_code == 400
    assert post(client, cast.counsellor, url, start_data(cast.cs2301)).status_code == 403
    assert post(client, cast.outsider, url, start_data(cast.uni)).status_code == 404
    assert not Campaign.objects.exists()
    response = post(client, cast.college_admin, url, start_data(cast.cs))
    assert response.status_code == 302 and Campaign.objects.get().unit == cast.cs


def test_sections_close_and_sync_only_for_managers(client, cast, campaign):
    before = campaign.sections
    urls = {
        "sections": reverse("campaign_sections", args=[campaign.pk]),
        "close": reverse("campaign_close", args=[campaign.pk]),
        "sync": reverse("campaign_sync", args=[campaign.pk]),
    }
    for who, user in cast.users().items():
        if who in MANAGES_UNI:
            continue
        expected = 403 if who in SEES_UNI else 404
        assert get(client, user, urls["sections"]).status_code == expected, who
        for url in urls.values():
            assert post(client, user, url, {"sec_0": "改掉"}).status_code == expected, (who, url)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE and campaign.sections == before
    assert list(campaign.events.values_list("kind", flat=True)) == [actions.EVENT_STARTED]

    assert get(client, cast.school_admin, urls["sections"]).status_code == 200
    response = post(client, cast.school_admin, urls["sections"], {"sec_0": "新的指导思想", "sec_1.0": "x"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.sections[0]["body"] == "新的指导思想"
    assert campaign.sections[1]["body"] == ""  # left empty on the form
    assert post(client, cast.school_admin, urls["sync"]).status_code == 302
    assert client.post(urls["sync"], follow=True).status_code == 200
    assert post(client, cast.school_admin, urls["close"]).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED
    assert get(client, cast.school_admin, urls["close"]).status_code == 405


def test_school_calendar_page(client, cast):
    url = reverse("school_calendar", args=[cast.uni.pk])
    response = get(client, cast.auditor, url)
    assert "默认校历" in response.content.decode() and response.context["form"] is None
    assert post(client, cast.auditor, url, {"semesters": "秋 2025-09-01 2026-01-18"}).status_code == 403
    assert get(client, cast.outsider, url).status_code == 404
    assert post(client, cast.outsider, url, {"semesters": "秋 2025-09-01 2026-01-18"}).status_code == 404
    assert not SchoolCalendar.objects.exists()
    lines = "2025—2026学年第一学期 2025-09-01 2026-1-18\n\n第二学期 2026-02-23 至 2026-07-05"
    assert post(client, cast.school_admin, url, {"semesters": lines}).status_code == 302
    assert list(cast.uni.semesters.values_list("name", "starts_on")) == [
        ("2025—2026学年第一学期", date(2025, 9, 1)),
        ("第二学期", date(2026, 2, 23)),
    ]
    response = get(client, cast.counsellor, reverse("school_calendar", args=[cast.cs2301.pk]))
    assert response.context["owner"] == cast.uni and response.context["form"] is None
    response = post(client, cast.school_admin, url, {"semesters": "坏的一行"})
    assert response.status_code == 400 and cast.uni.semesters.count() == 2
    response = post(
        client, cast.school_admin, url, {"semesters": "a 2026-01-01 2026-03-01\nb 2026-02-01 2026-04-01"}
    )
    assert response.status_code == 400 and cast.uni.semesters.count() == 2


# Query counts -------------------------------------------------------------------------------------


def add_classes(cast, n: int) -> None:
    org.bulk_create_children(cast.ma, [org.UnitSpec(f"数学{k}班", f"MAX{k}", "class") for k in range(n)])


@pytest.mark.parametrize("extra", [0, 9])
def test_dashboard_query_count_does_not_grow(client, cast, template, extra, django_assert_num_queries):
    add_classes(cast, extra)  # 3 or 12 classes
    campaign = start(cast.uni, template)
    for ob in campaign.obligations.all():
        record(ob, date(2026, 3, 2))
    client.force_login(cast.school_admin)
    url = reverse("campaign_dashboard", args=[campaign.pk])
    # session, user, grants, campaign, rules, obligations, calendars, activity counts, accepted
    # exceptions, row units
    with django_assert_num_queries(10):
        assert client.get(f"{url}?on=2026-03-10").status_code == 200
    # at the college: + the unit and the crumbs
    with django_assert_num_queries(12):
        assert client.get(f"{url}?unit={cast.ma.pk}&on=2026-03-10").status_code == 200
    # at a class: its own obligations and three queries for the responsible people (the units' kinds,
    # the role holders, the class's own counsellor's grant), no row units
    with django_assert_num_queries(14):
        assert client.get(f"{url}?unit={cast.ma2301.pk}&on=2026-03-10").status_code == 200


def test_the_periods_list_names_its_columns_as_the_dashboard_tiles_do(client, cast, campaign):
    """Walk-through at 390 px: the periods list's cards said "已完成"/"逾期" where the dashboard's tiles
    and tables say 按时完成/逾期未完成 for the same counts."""
    url = reverse("campaign_periods", args=[campaign.pk])
    body = get(client, cast.school_admin, f"{url}?month=2026-03&on=2026-04-02").content.decode()
    assert 'data-label="按时完成"' in body and 'data-label="逾期未完成"' in body
    assert 'data-label="已完成"' not in body and 'data-label="逾期"' not in body


def test_the_period_preview_does_not_say_per_period_for_a_one_off_rule(client, cast):
    """Walk-through at 390 px: a one-off rule (一次（限期）) read "每期至少 1 次" in the start page's
    period preview; it says "至少 1 次", as a recurring rule keeps "每期至少"."""
    from fanzha.campaigns.plan_templates.actions import sync_builtin_templates

    sync_builtin_templates()
    template = CampaignTemplate.objects.get(code="district-education-system")
    response = get(client, cast.school_admin, reverse("campaign_start", args=[template.pk]))
    rows = response.context["plan"]
    once = [row for row in rows if not row["count_text"].startswith("每期")]
    assert once and len(once) < len(rows) and all(row["count_text"] == "至少 1 次" for row in once)
    body = response.content.decode()
    assert body.count("每期至少") == len(rows) - len(once)


def test_a_one_off_obligations_page_does_not_say_per_period(client, cast):
    """The obligation page of a one-off rule says "至少 1 次" as the start page does, not "每期至少"."""
    campaign = start(cast.uni)
    once = obligation(campaign, "pledge", cast.d1_101)
    body = get(client, cast.school_admin, reverse("campaign_obligation", args=[campaign.pk, once.pk]))
    body = body.content.decode()
    assert "至少 1 次" in body and "每期至少" not in body
    weekly = obligation(campaign, "weekly-article", cast.cs2301)
    body = get(client, cast.school_admin, reverse("campaign_obligation", args=[campaign.pk, weekly.pk]))
    assert "每期至少 1 次" in body.content.decode()
