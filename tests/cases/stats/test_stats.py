"""Case statistics: exact figures on a handful of cases across two years and units, month buckets in
Asia/Shanghai near midnight, scope (a college admin sees only CS, an outsider nothing), goals, the
response times, and the statistics page with its XLSX."""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from fanzha.campaigns import actions as campaign_actions
from fanzha.campaigns.models import CampaignTemplate
from fanzha.cases import actions
from fanzha.cases.models import Alert, Case, CaseState, FraudKind, Outcome
from fanzha.cases.stats import queries as stats
from tests.cases.conftest import intake

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def report(cast: Any, unit: Any, when: datetime, loss: str, kind: str = FraudKind.BRUSHING) -> Case:
    """A case reported at ``when`` (its alert goes out ten minutes later)."""
    now = when + timedelta(minutes=10)
    data = intake(unit, now=now, total_loss=loss, fraud_type=kind)
    return actions.report_case(data, cast.school_admin, now=now)


@pytest.fixture
def world(cast):
    """Five cases in 2025 (CS2301 ×2, CS2302, MA2301, UNI itself), three in 2024, one at the other school."""
    made = {
        "cs_mar10": report(cast, cast.cs2301, at(2025, 3, 10), "1000"),
        "cs_mar20": report(cast, cast.cs2301, at(2025, 3, 20), "2000.50", FraudKind.INVESTMENT),
        "cs_jun": report(cast, cast.cs2302, at(2025, 6, 1), "500"),
        "ma_jul": report(cast, cast.ma2301, at(2025, 7, 15), "3000", FraudKind.POLICE),
        "uni_aug": report(cast, cast.uni, at(2025, 8, 1), "100", FraudKind.OTHER),
        "cs_2024": report(cast, cast.cs2301, at(2024, 3, 5), "800"),
        "ma_2024_may": report(cast, cast.ma2301, at(2024, 5, 1), "200"),
        "ma_2024_jul": report(cast, cast.ma2301, at(2024, 7, 1), "400"),
    }
    outsider_case = intake(cast.oc01, now=at(2025, 3, 1), total_loss="9999")
    made["other"] = actions.report_case(outsider_case, cast.outsider, now=at(2025, 3, 1))
    return made


# Pure helpers ----------------------------------------------------------------------------------------


def test_percent_change_is_none_on_a_zero_base():
    assert stats.percent_change(3, 2) == 50.0
    assert stats.percent_change(1, 3) == -66.7
    assert stats.percent_change(Decimal("150"), Decimal("100")) == 50.0
    assert stats.percent_change(5, 0) is None
    assert stats.percent_change(0, 0) is None


def test_goal_met_reads_zero_as_down_and_other_targets_as_a_ceiling():
    assert stats.goal_met(Decimal("-50"), -60.0) is True
    assert stats.goal_met(Decimal("-50"), -50.0) is True
    assert stats.goal_met(Decimal("-50"), -40.0) is False
    assert stats.goal_met(Decimal("0"), -0.1) is True
    assert stats.goal_met(Decimal("0"), 0.0) is False
    assert stats.goal_met(Decimal("10"), 5.0) is True
    assert stats.goal_met(Decimal("-50"), None) is None


def test_periods_before():
    march = stats.month_period(2025, 3)
    assert stats.previous(march) == stats.Period(date(2025, 2, 1), date(2025, 2, 28))
    assert stats.year_earlier(stats.month_period(2025, 2)) == stats.Period(
        date(2024, 2, 1), date(2024, 2, 29)
    )
    assert stats.previous(stats.year_period(2025)) == stats.year_period(2024)
    ten_days = stats.Period(date(2025, 3, 11), date(2025, 3, 20))
    assert stats.previous(ten_days) == stats.Period(date(2025, 3, 1), date(2025, 3, 10))
    assert stats.year_earlier(stats.Period(date(2024, 2, 29), date(2024, 3, 1))) == stats.Period(
        date(2023, 2, 28), date(2023, 3, 1)
    )


def test_percentile_and_duration_text():
    assert stats.percentile([], 90) is None
    assert stats.percentile([5.0], 90) == 5.0
    assert stats.percentile([float(i) for i in range(1, 11)], 90) == 9.0
    assert stats.percentile([120.0, 900.0], 50) == 120.0
    assert stats.duration_text(None) == "—"
    assert stats.duration_text(45) == "45秒"
    assert stats.duration_text(200) == "3分20秒"
    assert stats.duration_text(7500) == "2小时5分"


# Figures ---------------------------------------------------------------------------------------------


def test_change_over_a_year(cast, world):
    qs = stats.unit_cases(cast.school_admin, cast.uni)
    c = stats.change(qs, cast.uni, stats.year_period(2025))
    assert c.current == stats.Tally(5, Decimal("6600.50"))
    assert c.year_before == stats.Tally(3, Decimal("1400.00"))
    assert c.previous == c.year_before  # a whole year's previous period is the year before
    assert c.cases_yoy == 66.7
    assert c.loss_yoy == 371.5
    assert c.cases_mom == 66.7


def test_change_over_a_month_is_none_without_a_base(cast, world):
    qs = stats.unit_cases(cast.school_admin, cast.uni)
    c = stats.change(qs, cast.uni, stats.month_period(2025, 3))
    assert (c.current.cases, c.year_before.cases, c.previous.cases) == (2, 1, 0)
    assert c.cases_yoy == 100.0
    assert c.cases_mom is None and c.loss_mom is None
    assert c.loss_yoy == round((3000.50 - 800) / 800 * 100, 1)


def test_by_unit_counts_each_childs_subtree_and_the_units_own_cases(cast, world, django_assert_num_queries):
    qs = stats.unit_cases(cast.school_admin, cast.uni)
    with django_assert_num_queries(2):
        rows = stats.by_unit(qs, cast.uni, stats.year_period(2025))
    assert [(r.unit.code, r.own, r.tally.cases, r.tally.loss) for r in rows] == [
        ("UNI", True, 1, Decimal("100.00")),
        ("CS", False, 3, Decimal("3500.50")),
        ("MA", False, 1, Decimal("3000.00")),
        # the dormitory building D1 had no case: not listed as a unit with 0 (issue 15)
    ]
    cs_rows = stats.by_unit(qs, cast.cs, stats.year_period(2025))
    assert [(r.unit.code, r.tally.cases) for r in cs_rows] == [("CS2301", 2), ("CS2302", 1)]


def test_residence_units_listed_only_with_cases(cast, world):
    """Dormitory buildings and rooms are where people live, not units that answer for cases: listed
    only when a case was recorded under them."""
    qs = stats.unit_cases(cast.school_admin, cast.uni)
    assert "D1" not in [r.unit.code for r in stats.by_unit(qs, cast.uni, stats.year_period(2025))]
    report(cast, cast.d1_101, at(2025, 5, 5), "70")
    rows = stats.by_unit(stats.unit_cases(cast.school_admin, cast.uni), cast.uni, stats.year_period(2025))
    assert [(r.unit.code, r.tally.cases) for r in rows if r.unit.code == "D1"] == [("D1", 1)]


def test_by_type_most_cases_first(cast, world):
    rows = stats.by_type(stats.unit_cases(cast.school_admin, cast.uni), stats.year_period(2025))
    assert [(r.code, r.tally.cases, r.tally.loss) for r in rows] == [
        (FraudKind.BRUSHING, 2, Decimal("1500.00")),
        (FraudKind.POLICE, 1, Decimal("3000.00")),
        (FraudKind.INVESTMENT, 1, Decimal("2000.50")),
        (FraudKind.OTHER, 1, Decimal("100.00")),
    ]
    assert rows[0].label == str(FraudKind.BRUSHING.label)


def test_by_month_beside_last_year(cast, world):
    months = stats.by_month(stats.unit_cases(cast.school_admin, cast.uni), 2025)
    assert len(months) == 12
    figures = {m.month: (m.this.cases, m.this.loss, m.last.cases, m.last.loss) for m in months}
    assert figures[3] == (2, Decimal("3000.50"), 1, Decimal("800.00"))
    assert figures[5] == (0, Decimal("0"), 1, Decimal("200.00"))
    assert figures[7] == (1, Decimal("3000.00"), 1, Decimal("400.00"))
    assert figures[1] == (0, Decimal("0"), 0, Decimal("0"))
    assert months[2].cases_yoy == 100.0 and months[5].cases_yoy is None and months[6].cases_yoy == 0.0


def test_months_are_local_days_near_midnight(cast, settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    # 23:30 and 00:30 in Shanghai are 15:30 and 16:30 UTC on the same day, 31 January.
    report(cast, cast.cs2302, at(2025, 1, 31, 23, 30), "10")
    report(cast, cast.cs2302, at(2025, 2, 1, 0, 30), "20")
    report(cast, cast.cs2302, at(2025, 12, 31, 23, 59), "40")
    qs = stats.unit_cases(cast.school_admin, cast.uni)
    months = {m.month: m.this for m in stats.by_month(qs, 2025)}
    assert months[1] == stats.Tally(1, Decimal("10.00"))
    assert months[2] == stats.Tally(1, Decimal("20.00"))
    assert months[12] == stats.Tally(1, Decimal("40.00"))
    assert stats.change(qs, None, stats.month_period(2025, 2)).current.cases == 1
    assert stats.change(qs, None, stats.year_period(2026)).current.cases == 0


def test_scope_college_admin_sees_cs_only_and_outsider_nothing(cast, world):
    year = stats.year_period(2025)
    college = stats.unit_cases(cast.college_admin, cast.uni)
    assert stats.change(college, None, year).current == stats.Tally(3, Decimal("3500.50"))
    assert [
        (r.unit.code, r.tally.cases) for r in stats.by_unit(college, cast.uni, year) if r.tally.cases
    ] == [("CS", 3)]
    outsider = stats.unit_cases(cast.outsider, cast.uni)
    assert stats.change(outsider, None, year).current == stats.Tally(0, Decimal("0"))
    assert stats.by_type(outsider, year) == []
    # and the outsider's own school has the one case of its own
    assert stats.change(stats.unit_cases(cast.outsider, cast.other), None, year).current.cases == 1
    assert stats.unit_cases(cast.student_user, cast.uni).count() == 0


def test_response_times(cast, world):
    alerts = Alert.objects.filter(case__in=[world["cs_mar10"], world["cs_mar20"]])
    assert alerts.count() == 2
    for case, seconds in ((world["cs_mar10"], 120), (world["cs_mar20"], 900)):
        alert = Alert.objects.get(case=case)
        Alert.objects.filter(pk=alert.pk).update(
            acknowledged_at=alert.raised_at + timedelta(seconds=seconds), status=Alert.Status.ACKNOWLEDGED
        )
    actions.change_state(
        world["cs_mar10"],
        CaseState.CLOSED,
        cast.police_liaison,
        outcome=Outcome.PARTLY,
        frozen_amount="600",
        recovered_amount="400",
        now=at(2025, 4, 1),
    )
    qs = stats.unit_cases(cast.school_admin, cast.uni)
    r = stats.response_times(qs.filter(reported_at__gte=at(2025, 1, 1, 0), reported_at__lt=at(2026, 1, 1, 0)))
    assert (r.alerts, r.acknowledged, r.late, r.unacknowledged) == (5, 2, 1, 3)
    assert r.alert_median == 600.0 and r.alert_p90 == 600.0
    assert r.ack_median == 510.0 and r.ack_p90 == 900.0
    assert (r.frozen, r.recovered) == (Decimal("600.00"), Decimal("400.00"))
    assert r.outcomes[Outcome.PARTLY] == 1 and r.cases == 5
    assert r.texts["ack_p90"] == "15分0秒"
    college = stats.response_times(stats.unit_cases(cast.college_admin, cast.cs))
    assert college.alerts == 4  # three in 2025 and one in 2024, all in CS
    assert stats.response_times(stats.unit_cases(cast.outsider, cast.uni)).alerts == 0


def test_response_times_without_alerts():
    r = stats.response_times(Case.objects.none())
    assert r.alerts == 0 and r.alert_median is None and r.ack_p90 is None
    assert r.texts["alert_median"] == "—"


# Goals -----------------------------------------------------------------------------------------------

GOAL_TEMPLATE = """
code = "cases-goal-test"
title = "{organisation}电诈案件压降行动"
issuer_kinds = ["school"]
levels = ["school", "college", "class"]
audiences = ["student"]
attestations = ["quiz_passed"]

[[goals]]
code = "cases-down"
metric = "case_change_yoy"
target = -50
unit = "percent"
deadline = "12-31"
description = "全年案件数比上一年度明显减少"

[[goals]]
code = "cases-down-mom"
metric = "case_change_mom"
target = 0
unit = "percent"
deadline = ""
description = "案件数环比下降"

[[goals]]
code = "awareness"
metric = "awareness_rate"
target = 100
unit = "percent"
deadline = ""
description = "知晓率100%"

[[sections]]
heading = "总体要求"
body = "压降案件。"
"""


@pytest.fixture
def goal_campaign(cast):
    template = CampaignTemplate.objects.create(code="cases-goal-test", title="压降", text=GOAL_TEMPLATE)
    return campaign_actions.start_campaign(template, cast.uni, date(2025, 1, 1), date(2025, 12, 31), {})


def test_goal_progress(cast, world, goal_campaign):
    qs = stats.unit_cases(cast.school_admin, cast.uni)
    whole = stats.goal_progress(goal_campaign, qs, today=date(2026, 3, 1))
    assert [g.goal.metric for g in whole] == ["case_change_yoy", "case_change_mom"]
    yoy, mom = whole
    assert yoy.period == stats.year_period(2025) and yoy.base_period == stats.year_period(2024)
    assert (yoy.current.cases, yoy.base.cases, yoy.actual, yoy.met) == (5, 3, 66.7, False)
    assert mom.actual == 66.7 and mom.met is False

    # By the end of July the mathematics college halved its cases against last year's same months.
    ma = stats.unit_cases(cast.school_admin, cast.ma)
    yoy, mom = stats.goal_progress(goal_campaign, ma, today=date(2025, 7, 31))
    assert yoy.period == stats.Period(date(2025, 1, 1), date(2025, 7, 31))
    assert (yoy.current.cases, yoy.base.cases, yoy.actual, yoy.met) == (1, 2, -50.0, True)
    # against the 212 days before (3 June – 31 December 2024): one case each, no decrease
    assert mom.base_period == stats.Period(date(2024, 6, 3), date(2024, 12, 31))
    assert (mom.current.cases, mom.base.cases, mom.actual, mom.met) == (1, 1, 0.0, False)


def test_goal_before_the_campaign_starts_has_no_figure(cast, world, goal_campaign):
    progress = stats.goal_progress(
        goal_campaign, stats.unit_cases(cast.school_admin, cast.uni), date(2024, 6, 1)
    )
    assert all(g.period is None and g.actual is None and g.met is None for g in progress)


def test_goal_with_a_zero_base_is_unknown(cast, goal_campaign):
    report(cast, cast.cs2301, at(2025, 2, 1), "100")
    yoy, _mom = stats.goal_progress(
        goal_campaign, stats.unit_cases(cast.school_admin, cast.uni), date(2025, 3, 1)
    )
    assert (yoy.current.cases, yoy.base.cases, yoy.actual, yoy.met) == (1, 0, None, None)


# The page --------------------------------------------------------------------------------------------


def island(response) -> dict:
    match = re.search(
        r'<script id="case-stats-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "no data island"
    return json.loads(match.group(1))


def test_stats_page_shows_the_figures(client, cast, world, goal_campaign):
    client.force_login(cast.school_admin)
    response = client.get(reverse("case_stats"), {"unit": cast.uni.pk, "year": 2025})
    assert response.status_code == 200
    report_ = response.context["report"]
    assert report_.change.current.cases == 5
    assert [cg.campaign.pk for cg in report_.campaigns] == [goal_campaign.pk]
    data = island(response)
    assert data["this"]["cases"][2] == 2 and data["last"]["cases"][2] == 1
    assert data["this"]["loss"][2] == 3000.5
    assert {u["name"]: u["cases"] for u in data["units"]}["计算机学院"] == 3
    body = response.content.decode()
    assert "66.7%" in body
    assert "下降50%以上" in body  # the goal's target as the plan words it
    assert "<script>" not in body  # no inline script
    assert "cases/stats.js" in body and "reports/vendor/echarts.min.js" in body
    # drill down to the college: its classes
    cs_link = reverse("case_stats") + f"?unit={cast.cs.pk}&amp;year=2025"
    assert cs_link in body
    drill = client.get(reverse("case_stats"), {"unit": cast.cs.pk, "year": 2025, "month": 3})
    assert [r.unit.code for r in drill.context["report"].units] == ["CS2301", "CS2302"]
    assert drill.context["report"].change.current.cases == 2


def test_stats_page_scope(client, cast, world):
    url = reverse("case_stats")
    client.force_login(cast.college_admin)
    assert client.get(url, {"unit": cast.uni.pk}).status_code == 404
    default = client.get(url, {"year": 2025})
    assert default.status_code == 200 and default.context["unit"] == cast.cs
    assert default.context["report"].change.current.cases == 3
    for user in (cast.outsider, cast.student_user, cast.parent_user):
        client.force_login(user)
        assert client.get(url, {"unit": cast.uni.pk}).status_code == 404
        assert client.get(reverse("case_stats_export"), {"unit": cast.uni.pk}).status_code == 404
    client.force_login(cast.student_user)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_stats_page_bad_parameters_fall_back(client, cast, world):
    client.force_login(cast.school_admin)
    response = client.get(reverse("case_stats"), {"year": "abc", "month": "13"})
    assert response.status_code == 200 and response.context["month"] is None
    assert client.get(reverse("case_stats"), {"unit": "x"}).status_code == 404


def test_stats_export(client, cast, world):
    client.force_login(cast.school_admin)
    response = client.get(reverse("case_stats_export"), {"unit": cast.uni.pk, "year": 2025})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "概况",
        "按月",
        "按类型",
        "按单位",
        "涉“两卡”学生",
        "破案战果",
    ]  # no campaign with a case goal
    summary = book["概况"]
    assert summary["B3"].value == 5 and summary["C3"].value == 3 and summary["D3"].value == "+66.7%"
    months = book["按月"]
    assert [c.value for c in months[4]][:5] == ["3月", 2, 3000.5, 1, 800]
    units = {row[1]: row[2] for row in book["按单位"].iter_rows(min_row=2, values_only=True)}
    assert units == {"UNI": 1, "CS": 3, "MA": 1}  # no row for the dormitory building without cases


# session, user, grants, unit, campaigns (+ their goals, + one tally each), change, by unit (2), by
# type, by month, alerts, outcome sums, scope roots (the crumbs of a root unit need none), the students
# involved with bank and phone cards (one aggregate), the police results (per child: results and gangs;
# this period, a year earlier and the previous one: results and gangs)
STATS_PAGE_QUERIES = 20


def test_stats_page_query_count_does_not_grow_with_the_children(
    client, cast, world, goal_campaign, django_assert_num_queries
):
    from fanzha.org import actions as org_actions

    client.force_login(cast.school_admin)
    url = reverse("case_stats")
    with django_assert_num_queries(STATS_PAGE_QUERIES):
        client.get(url, {"unit": cast.uni.pk, "year": 2025})
    for i in range(6):
        college = org_actions.create_unit(parent=cast.uni, name=f"学院{i}", code=f"X{i}", kind="college")
        report(cast, college, at(2025, 4, 1 + i), "10")
    with django_assert_num_queries(STATS_PAGE_QUERIES):
        response = client.get(url, {"unit": cast.uni.pk, "year": 2025})
    assert len(response.context["report"].units) == 9  # UNI itself, CS, MA and the six (not D1: no case)


def test_the_loss_tile_is_wide_enough_for_a_county_sized_amount(client, cast):
    """Walk-through at 390 px: a six-figure loss with its cents ("1478507.64") was cut off in a third of the
    phone's width; the loss tile takes two columns."""
    report(cast, cast.cs2301, at(2025, 3, 10), "1478507.64")
    client.force_login(cast.school_admin)
    body = client.get(reverse("case_stats"), {"unit": cast.uni.pk, "year": 2025}).content.decode()
    tile = (
        r'<div class="stat wide"><span class="stat-num">[^<]*</span>'
        '<span class="stat-label">损失金额（元）'
    )
    assert re.search(tile, body)
