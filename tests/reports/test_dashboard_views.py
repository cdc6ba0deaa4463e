"""Dashboard pages: who may open which unit (the cast matrix), drill-down from the university to the
people missing each item, the XLSX export, the charts' data island, and pinned query counts."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from fanzha.campaigns.models import Campaign
from fanzha.org import actions as org_actions
from fanzha.org.models import User
from fanzha.reach import actions as reach_actions
from fanzha.reach.models import Attestation
from fanzha.reports import kpis

from .conftest import ITEMS

pytestmark = pytest.mark.django_db
S = Attestation.Status


def unit_url(campaign: Campaign, unit) -> str:
    return reverse("dashboard_unit", args=[campaign.pk, unit.pk])


def island(response) -> dict:
    match = re.search(
        r'<script id="dashboard-data" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert match, "no data island"
    return json.loads(match.group(1))


# Who sees what ------------------------------------------------------------------------------------

# Expected status of each cast member's request for the dashboard of each unit.
MATRIX = {
    "school_admin": {"uni": 200, "cs": 200, "cs2301": 200, "d1": 200},
    "college_admin": {"uni": 404, "cs": 200, "cs2301": 200, "d1": 404},
    "counsellor": {"uni": 404, "cs": 404, "cs2301": 200, "d1": 404},
    "police_liaison": {"uni": 200, "cs": 200, "cs2301": 200, "d1": 200},
    "auditor": {"uni": 200, "cs": 200, "cs2301": 200, "d1": 200},
    "student": {"uni": 404, "cs": 404, "cs2301": 404, "d1": 404},
    "parent": {"uni": 404, "cs": 404, "cs2301": 404, "d1": 404},
    "outsider": {"uni": 404, "cs": 404, "cs2301": 404, "d1": 404},
}


def test_cast_matrix(client, cast, campaign):
    for who, user in cast.users().items():
        client.force_login(user)
        for name, expected in MATRIX[who].items():
            unit = getattr(cast, name)
            response = client.get(unit_url(campaign, unit))
            assert response.status_code == expected, (who, name)
            export = client.get(reverse("dashboard_unit_export", args=[campaign.pk, unit.pk]))
            assert export.status_code == expected, (who, name, "export")


def test_the_campaign_link_leads_where_the_scope_begins(client, cast, campaign):
    url = reverse("dashboard_campaign", args=[campaign.pk])
    expected = {
        "school_admin": unit_url(campaign, cast.uni),
        "college_admin": unit_url(campaign, cast.cs),
        "counsellor": unit_url(campaign, cast.cs2301),
        "auditor": unit_url(campaign, cast.uni),
    }
    for who, target in expected.items():
        client.force_login(cast.users()[who])
        assert client.get(url).url == target, who
    for who in ("student", "parent", "outsider"):
        client.force_login(cast.users()[who])
        assert client.get(url).status_code == 404, who


def test_units_outside_the_campaign_are_missing_even_for_a_superuser(client, cast, campaign):
    admin = User.objects.create_superuser("root", "", "x")
    client.force_login(admin)
    assert client.get(unit_url(campaign, cast.oc01)).status_code == 404
    assert client.get(reverse("dashboard_unit", args=[campaign.pk, 999_999])).status_code == 404
    assert client.get(reverse("dashboard_unit", args=[999_999, cast.uni.pk])).status_code == 404
    assert client.get(unit_url(campaign, cast.uni)).status_code == 200


def test_signed_out_is_sent_to_sign_in(client, cast, campaign):
    response = client.get(unit_url(campaign, cast.uni))
    assert response.status_code == 302 and "login" in response.url


def test_the_index_lists_only_visible_campaigns(client, cast, campaign):
    client.force_login(cast.school_admin)
    body = client.get(reverse("dashboard_index")).content.decode()
    assert reverse("dashboard_campaign", args=[campaign.pk]) in body
    client.force_login(cast.outsider)
    body = client.get(reverse("dashboard_index")).content.decode()
    assert reverse("dashboard_campaign", args=[campaign.pk]) not in body


def test_pages_write_nothing(client, cast, campaign, django_assert_num_queries):
    before = list(campaign_rows(campaign))
    client.force_login(cast.outsider)
    client.get(unit_url(campaign, cast.uni))
    client.force_login(cast.school_admin)
    client.get(unit_url(campaign, cast.uni))
    client.get(reverse("dashboard_unit_export", args=[campaign.pk, cast.uni.pk]))
    assert list(campaign_rows(campaign)) == before


def campaign_rows(campaign):
    from fanzha.reports.models import KpiCount

    return (
        KpiCount.objects.filter(campaign=campaign)
        .order_by("pk")
        .values_list("unit_id", "metric", "day", "value")
    )


# Drill-down -----------------------------------------------------------------------------------------


def test_drill_down_from_the_university_to_the_people_missing(
    client, cast, campaign, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.attest(campaign, cast.monitor, "pledge_signed", S.DECLARED)
        reach_actions.attest(campaign, cast.math_student, "pledge_signed", S.VERIFIED)
    client.force_login(cast.school_admin)
    top = client.get(unit_url(campaign, cast.uni))
    body = top.content.decode()
    assert unit_url(campaign, cast.cs) in body and unit_url(campaign, cast.ma) in body
    # Worst first: the computer college (1 of 2 signed) before mathematics (1 of 1).
    names = [row.unit.name for row in top.context["board"].rows]
    assert names.index("计算机学院") < names.index("数学学院")
    college = client.get(unit_url(campaign, cast.cs))
    assert unit_url(campaign, cast.cs2301) in college.content.decode()
    assert [c["unit"] for c in college.context["crumbs"]] == [cast.uni]
    leaf = client.get(unit_url(campaign, cast.cs2301))
    assert leaf.context["leaf"]
    missing = {m.item: [p.name for p in m.people] for m in leaf.context["missing"]}
    assert missing["pledge_signed"] == ["张三"]  # 李四 signed
    assert missing["quiz_passed"] == ["张三", "李四"] or sorted(missing["quiz_passed"]) == ["张三", "李四"]
    body = leaf.content.decode()
    assert reverse("person_detail", args=[cast.student.pk]) in body
    assert reverse("reach_item", args=[cast.cs2301.pk, campaign.pk, "pledge_signed"]) in body


def test_a_counsellor_sees_their_class_and_its_missing_people(client, cast, campaign):
    teacher = org_actions.save_person(root=cast.uni, name="班主任", kind="teacher", external_number="T900")
    org_actions.add_membership(teacher, cast.cs)
    org_actions.add_membership(teacher, cast.cs2301, "counsellor")
    kpis.refresh_homes()
    client.force_login(cast.counsellor)
    response = client.get(unit_url(campaign, cast.cs2301))
    assert response.status_code == 200
    names = {p.name for m in response.context["missing"] for p in m.people}
    assert names == {"张三", "李四"}  # the class's counsellor counts in the college, as in the figures
    assert response.context["crumbs"][0]["link"] is False  # the university is above their scope


def test_the_figures_and_goals(client, cast, campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.attest(campaign, cast.student, "quiz_passed", S.VERIFIED)
    client.force_login(cast.school_admin)
    response = client.get(unit_url(campaign, cast.uni))
    figures = response.context["board"].figures
    assert figures.people == 3
    assert (figures.items["quiz_passed"].done, figures.items["quiz_passed"].due) == (1, 3)
    assert figures.items["quiz_passed"].percent == 33
    goals = {row.goal.metric: row.actual for row in response.context["goals"]}
    assert goals["awareness_rate"] == 33
    assert "activity_compliance" in goals
    assert "33%" in response.content.decode()


def test_the_page_follows_an_attestation_at_once(client, cast, campaign, django_capture_on_commit_callbacks):
    client.force_login(cast.school_admin)
    url = unit_url(campaign, cast.uni)
    assert island(client.get(url))["totals"]["app_installed"]["done"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.attest(campaign, cast.math_student, "app_installed", S.DECLARED)
    assert island(client.get(url))["totals"]["app_installed"]["done"] == 1


def test_charts_come_from_a_data_island_and_a_static_script(client, cast, campaign):
    client.force_login(cast.school_admin)
    response = client.get(unit_url(campaign, cast.uni))
    body = response.content.decode()
    for tag in re.findall(r"<script[^>]*>", body):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "reports/vendor/echarts.min.js" in body and "reports/dashboard.js" in body
    data = island(response)
    assert [i["key"] for i in data["items"]] == list(ITEMS)
    assert len(data["units"]) == len(data["bars"]["coverage"]) == len(response.context["board"].rows)
    assert data["weeks"] and all(len(points) == len(data["weeks"]) for points in data["trend"].values())


def test_sorting_by_an_item(client, cast, campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.attest(campaign, cast.student, "app_installed", S.DECLARED)
    client.force_login(cast.school_admin)
    rows = client.get(unit_url(campaign, cast.uni), {"sort": "app_installed"}).context["board"].rows
    rated = [r.unit.name for r in rows if r.figures.items["app_installed"].rate is not None]
    assert rated == ["数学学院", "计算机学院"]  # 0 % before 50 %
    assert rows[-1].figures.people == 0  # units without people last
    client.get(unit_url(campaign, cast.uni), {"sort": "nonsense"})  # unknown keys fall back


# Export ---------------------------------------------------------------------------------------------


def test_xlsx_export_opens_and_holds_the_table(client, cast, campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.attest(campaign, cast.student, "pledge_signed", S.DECLARED)
    client.force_login(cast.school_admin)
    response = client.get(reverse("dashboard_unit_export", args=[campaign.pk, cast.uni.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = values[1]
    assert header[:3] == ["单位", "代码", "应覆盖人数"]
    assert "签署承诺书：已完成" in header
    total = values[2]
    assert total[0] == "合计：示范大学" and total[2] == 3
    assert total[header.index("签署承诺书：已完成")] == 1
    children = {row[0]: row for row in values[3:]}
    assert set(children) == {"计算机学院", "数学学院", "一号宿舍楼"}
    assert children["计算机学院"][header.index("签署承诺书：已完成")] == 1


# Query counts ---------------------------------------------------------------------------------------


def add_colleges(cast, count: int) -> None:
    for i in range(count):
        college = org_actions.create_unit(
            parent=cast.uni, name=f"学院{i:02d}", code=f"X{i:02d}", kind="college"
        )
        person = org_actions.save_person(
            root=cast.uni, name=f"学生X{i}", kind="student", external_number=f"X{i:03d}"
        )
        org_actions.add_membership(person, college)


# session, user, grants (scope and menu), campaign, unit, children, their counts, the trend, goals,
# the case KPIs (one aggregate over cases_case)
PAGE_QUERIES = 10
EXPORT_QUERIES = 7  # no trend, no goals, no cases
LEAF_QUERIES = 13  # and the crumbs, the class's people, their attestations


def test_query_count_does_not_grow_with_the_children(client, cast, campaign, django_assert_num_queries):
    client.force_login(cast.school_admin)
    url = unit_url(campaign, cast.uni)
    export = reverse("dashboard_unit_export", args=[campaign.pk, cast.uni.pk])
    with django_assert_num_queries(PAGE_QUERIES):
        assert len(client.get(url).context["board"].rows) == 3
    with django_assert_num_queries(EXPORT_QUERIES):
        client.get(export)
    add_colleges(cast, 27)
    kpis.refresh_homes()
    kpis.rebuild(campaign)
    with django_assert_num_queries(PAGE_QUERIES):
        assert len(client.get(url).context["board"].rows) == 30
    with django_assert_num_queries(EXPORT_QUERIES):
        client.get(export)


def test_query_count_of_a_class_does_not_grow_with_its_people(
    client, cast, campaign, django_assert_num_queries
):
    client.force_login(cast.school_admin)
    url = unit_url(campaign, cast.cs2301)
    with django_assert_num_queries(LEAF_QUERIES):
        client.get(url)
    for i in range(20):
        person = org_actions.save_person(
            root=cast.uni, name=f"新生{i}", kind="student", external_number=f"N{i:03d}"
        )
        org_actions.add_membership(person, cast.cs2301)
    kpis.refresh_homes()
    with django_assert_num_queries(LEAF_QUERIES):
        missing = client.get(url).context["missing"]
    assert len(missing[0].people) == 22
