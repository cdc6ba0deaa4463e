"""The alert pages: who sees the list and an alert (404 outside the scope), who may acknowledge and
record the outcome (403 for read-only roles, nothing changes), the countdown element and its script
(no inline script), the case page's panel, and a pinned number of queries on the list."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.alerts import actions as alert_actions
from fanzha.cases.alerts import views as alert_views
from fanzha.cases.models import Alert, Case, CaseEvent
from tests.cases.conftest import GOOD_CARD

pytestmark = pytest.mark.django_db

# Who sees the alerts of CS2301 (CASE_VIEW over it); everyone else signed in gets 404 on an alert.
SEES = {"school_admin", "college_admin", "counsellor", "police_liaison", "auditor"}
POLICE = {"police_liaison"}
VICTIM_PHONE = "13812345678"


def report(cast: Any, make_intake: Any, unit: Any = None, now: Any = None) -> Case:
    unit = unit or cast.cs2301
    data = make_intake(
        unit, cast.student if unit == cast.cs2301 else None, now=now, victim_phone=VICTIM_PHONE
    )
    actor = cast.counsellor if unit == cast.cs2301 else cast.school_admin
    return actions.report_case(data, actor, now=now)


def snapshot(alert: Alert) -> tuple[Any, ...]:
    fresh = Alert.objects.get(pk=alert.pk)
    case = Case.objects.get(pk=alert.case_id)
    return (
        fresh.status,
        fresh.acknowledged_at,
        fresh.resolved_at,
        fresh.outcome_note,
        case.frozen_amount,
        case.recovered_amount,
        CaseEvent.objects.filter(case=case).count(),
    )


def assert_no_inline_script(html: str) -> None:
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag, tag


# The list ------------------------------------------------------------------------------------------


def test_list_for_each_cast_member(client, cast, make_intake):
    case = report(cast, make_intake)
    url = reverse("alert_list")
    for who, user in cast.users().items():
        client.force_login(user)
        response = client.get(url)
        if who in {"student", "parent"}:
            assert response.status_code == 403, who
            continue
        assert response.status_code == 200, who
        numbers = [row["case"].number for row in response.context["rows"]]
        assert numbers == ([case.number] if who in SEES else []), who


def test_list_open_first_with_countdown_times_and_late_mark(client, cast, make_intake, settings):
    settings.FANZHA_ALERT_ESCALATE_MINUTES = 10
    now = timezone.now()
    done = report(cast, make_intake, now=now - timedelta(hours=1))
    alert_actions.acknowledge_alert(done.alert, cast.police_liaison, now=now - timedelta(minutes=30))
    waiting = report(cast, make_intake, unit=cast.ma2301, now=now - timedelta(hours=2))
    client.force_login(cast.police_liaison)
    response = client.get(reverse("alert_list"))
    rows = response.context["rows"]
    assert [r["case"] for r in rows] == [waiting, done]  # open first, though older
    assert rows[0]["late"] is True  # open for two hours
    assert rows[1]["late"] is True and rows[1]["to_ack"] == "30分00秒"
    assert rows[1]["to_alert"] == "10分00秒"
    html = response.content.decode()
    assert html.count("data-deadline=") == 1  # only the open alert counts down
    assert "cases/countdown.js" in html
    assert_no_inline_script(html)
    assert response.context["stats"]["count"] == 2 and response.context["stats"]["late"] == 1

    only_open = client.get(reverse("alert_list"), {"status": "open"})
    assert [r["case"] for r in only_open.context["rows"]] == [waiting]


def test_list_queries_do_not_grow_with_the_rows(client, cast, make_intake, django_assert_max_num_queries):
    client.force_login(cast.police_liaison)
    for _ in range(2):
        report(cast, make_intake)
    client.get(reverse("alert_list"))  # warm caches (sessions, content types)
    with django_assert_max_num_queries(9) as few:
        client.get(reverse("alert_list"))
    for _ in range(4):
        report(cast, make_intake)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("alert_list"))
    assert len(response.context["rows"]) == 6


# One alert -----------------------------------------------------------------------------------------


def test_detail_seen_in_scope_only(client, cast, make_intake):
    case = report(cast, make_intake)
    url = reverse("alert_detail", args=[case.alert.pk])
    for who, user in cast.users().items():
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == (200 if who in SEES else 404), who
        if response.status_code == 200:
            html = response.content.decode()
            assert ('data-testid="ack"' in html) == (who in POLICE), who
    client.force_login(cast.police_liaison)
    assert client.get(reverse("alert_detail", args=[case.alert.pk + 1000])).status_code == 404


def test_detail_shows_the_money_trail_and_contacts_but_not_the_victim(client, cast, make_intake):
    case = report(cast, make_intake)
    client.force_login(cast.police_liaison)
    response = client.get(reverse("alert_detail", args=[case.alert.pk]))
    html = response.content.decode()
    assert GOOD_CARD in html and "pay@example.com" in html and "17123456789" in html
    assert f'data-deadline="{response.context["countdown"]["iso"]}"' in html
    assert "已超过止付黄金时间" in html  # the text the script shows once the deadline has passed
    assert "张*" in html and reverse("case_detail", args=[case.pk]) in html
    for secret in ("张三", VICTIM_PHONE, "4111111111111111", "单亲家庭", "本月生活费"):
        assert secret not in html, secret
    tiers = response.context["tiers"]
    assert [(t["tier"], [(r["who"], r["status"]) for r in t["rows"]]) for t in tiers] == [
        (1, [("警务联络员", "pending")])
    ]
    assert_no_inline_script(html)


# Writes ----------------------------------------------------------------------------------------------


def test_acknowledge_refused_for_all_but_the_police(client, cast, make_intake):
    case = report(cast, make_intake)
    url = reverse("alert_ack", args=[case.alert.pk])
    before = snapshot(case.alert)
    for who, user in cast.users().items():
        if who in POLICE:
            continue
        client.force_login(user)
        response = client.post(url)
        assert response.status_code == (403 if who in SEES else 404), who
        assert snapshot(case.alert) == before, who
    client.force_login(cast.police_liaison)
    response = client.post(url, {"note": "已联系开户行"})
    assert response.status_code == 302 and response.url == reverse("alert_detail", args=[case.alert.pk])
    alert = Alert.objects.get(pk=case.alert.pk)
    assert alert.status == Alert.Status.ACKNOWLEDGED and alert.acknowledged_by == cast.police_liaison
    # A second press says so and changes nothing.
    before = snapshot(alert)
    response = client.post(url, follow=True)
    assert "已经确认过了" in response.content.decode()
    assert snapshot(alert) == before


def test_acknowledge_goes_back_to_the_page_it_came_from_on_this_site_only(client, cast, make_intake):
    first = report(cast, make_intake)
    second = report(cast, make_intake)
    client.force_login(cast.police_liaison)
    back = client.post(reverse("alert_ack", args=[first.alert.pk]), {"next": "/cases/somewhere/"})
    assert back.url == "/cases/somewhere/"
    away = client.post(reverse("alert_ack", args=[second.alert.pk]), {"next": "https://evil.example/"})
    assert away.url == reverse("alert_detail", args=[second.alert.pk])


def test_get_on_a_write_url_changes_nothing(client, cast, make_intake):
    case = report(cast, make_intake)
    client.force_login(cast.police_liaison)
    before = snapshot(case.alert)
    assert client.get(reverse("alert_ack", args=[case.alert.pk])).status_code == 302
    assert snapshot(case.alert) == before


def test_outcome_form(client, cast, make_intake):
    case = report(cast, make_intake)
    url = reverse("alert_outcome", args=[case.alert.pk])
    client.force_login(cast.police_liaison)
    before = snapshot(case.alert)
    early = client.post(url, {"frozen_amount": "100", "recovered_amount": "0"}, follow=True)
    assert "请先确认接警" in early.content.decode()
    assert snapshot(case.alert) == before

    alert_actions.acknowledge_alert(case.alert, cast.police_liaison)
    before = snapshot(case.alert)
    for who in ("auditor", "counsellor", "school_admin"):
        client.force_login(cast.users()[who])
        assert client.post(url, {"frozen_amount": "100", "recovered_amount": "0"}).status_code == 403, who
    client.force_login(cast.outsider)
    assert client.post(url, {"frozen_amount": "100", "recovered_amount": "0"}).status_code == 404
    assert snapshot(case.alert) == before

    client.force_login(cast.police_liaison)
    page = client.get(reverse("alert_detail", args=[case.alert.pk]))
    assert 'name="frozen_amount"' in page.content.decode()
    bad = client.post(url, {"frozen_amount": "5000", "recovered_amount": "-3"})
    assert bad.status_code == 400
    form = bad.context["outcome_form"]
    assert "不能超过损失金额" in " ".join(form.errors["frozen_amount"])
    assert "不能为负数" in " ".join(form.errors["recovered_amount"])
    assert snapshot(case.alert) == before

    ok = client.post(url, {"frozen_amount": "1200", "recovered_amount": "300.5", "note": "已冻结"})
    assert ok.status_code == 302
    case.refresh_from_db()
    assert (case.frozen_amount, case.recovered_amount) == (Decimal("1200.00"), Decimal("300.50"))
    assert Alert.objects.get(pk=case.alert.pk).status == Alert.Status.RESOLVED
    shown = client.get(reverse("alert_detail", args=[case.alert.pk])).content.decode()
    assert "1200.00" in shown and "已冻结" in shown


def test_anonymous_is_sent_to_sign_in(client, cast, make_intake):
    case = report(cast, make_intake)
    for url in (reverse("alert_list"), reverse("alert_detail", args=[case.alert.pk])):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response.url
    assert client.post(reverse("alert_ack", args=[case.alert.pk])).status_code == 302
    assert Alert.objects.get(pk=case.alert.pk).status == Alert.Status.OPEN


# The case page's panel -----------------------------------------------------------------------------


def render_panel(case: Case, user: Any) -> str:
    request = RequestFactory().get(f"/cases/{case.pk}/")
    request.user = user
    return render_to_string("cases/_alert_panel.html", {"p": alert_views.panel(case, user)}, request=request)


def test_panel_for_the_police_and_for_others(cast, make_intake):
    case = report(cast, make_intake)
    police = alert_views.panel(case, cast.police_liaison)
    assert police["alert"] == case.alert and police["can_ack"] is True
    assert police["countdown"]["expired"] is False
    html = render_panel(case, cast.police_liaison)
    assert "data-deadline=" in html and "cases/countdown.js" in html
    assert reverse("alert_ack", args=[case.alert.pk]) in html
    assert f'name="next" value="/cases/{case.pk}/"' in html
    assert_no_inline_script(html)

    other = alert_views.panel(case, cast.counsellor)
    assert other["can_ack"] is False
    assert reverse("alert_ack", args=[case.alert.pk]) not in render_panel(case, cast.counsellor)

    alert_actions.acknowledge_alert(case.alert, cast.police_liaison)
    alert_actions.record_alert_outcome(case.alert, cast.police_liaison, "800", "0")
    case.refresh_from_db()
    done = render_panel(case, cast.police_liaison)
    assert "800.00" in done and "data-deadline=" not in done
    assert reverse("alert_ack", args=[case.alert.pk]) not in done


def test_panel_of_a_case_without_alert_is_empty(cast, make_intake):
    now = timezone.now()
    data = make_intake(cast.cs2301, cast.student)
    for t in data.transfers:
        t.at = now - timedelta(hours=30)
    data.occurred_at = now - timedelta(hours=31)
    case = actions.report_case(data, cast.counsellor)
    assert alert_views.panel(case, cast.police_liaison) == {"alert": None}
    assert render_panel(case, cast.police_liaison).strip() == ""


def test_countdown_shows_expiry_once_the_window_has_passed(cast, make_intake):
    case = report(cast, make_intake)
    later = case.last_transfer_at + timedelta(hours=25)
    shown = alert_views.countdown(case, later)
    assert shown is not None and shown["expired"] is True and shown["text"] == "已超过止付黄金时间"
    soon = alert_views.countdown(case, case.last_transfer_at + timedelta(hours=23, minutes=58, seconds=30))
    assert soon is not None and soon["text"] == "剩余 00:01:30"
