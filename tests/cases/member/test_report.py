"""A student reports their own case from the phone pages: the alert is raised at once, the page says
what to do now with 110 / 96110 links; double submits count once; guardians are sent to 110."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from fanzha.cases.models import Alert, Case, CaseEvent, CaseState, IndicatorKind, ReportedVia
from fanzha.reach import actions as reach_actions
from tests.cases.conftest import GOOD_CARD
from tests.codes import give_code
from tests.reach.conftest import CaptureBackend, last_code

pytestmark = pytest.mark.django_db

FMT = "%Y-%m-%dT%H:%M"


@pytest.fixture(autouse=True)
def _sms(settings):
    cache.clear()
    CaptureBackend.sent.clear()
    settings.FANZHA_SMS_BACKEND = "tests.reach.conftest.CaptureBackend"


@pytest.fixture
def link(cast):
    return reach_actions.ensure_class_link(cast.cs2301)


def sign_in(client, link, number="2023001"):
    """Sign the member in with a personal code, freshly issued by the cast's counsellor."""
    from fanzha.org.models import Person, Role, User

    person = Person.objects.get(external_number=number, root__path=link.unit.root_path)
    counsellor = User.objects.filter(grants__role=Role.COUNSELLOR).first()
    response = client.post(
        reverse("member_signin", args=[link.token]), {"number": number, "code": give_code(person, counsellor)}
    )
    assert response.status_code == 302


def sign_in_parent(client, link, phone="13900139000"):
    client.post(reverse("member_guardian_signin", args=[link.token]), {"phone": phone})
    response = client.post(reverse("member_code", args=[link.token]), {"code": last_code(phone)})
    assert response.status_code == 302


def report_data(token="m-token-1", **changes):
    now = timezone.localtime()
    data = {
        "submit_token": token,
        "fraud_type": "fake_cs",
        "channel": "call",
        "occurred_at": (now - timedelta(hours=2)).strftime(FMT),
        "narrative": "自称快递客服说包裹丢了要理赔，让我开屏幕共享转账",
        "suspect_phones": "+86 171 2345 6789\n95588",
        "suspect_links": "lipei.example.com",
        "tr-TOTAL_FORMS": "2",
        "tr-INITIAL_FORMS": "0",
        "tr-MIN_NUM_FORMS": "0",
        "tr-MAX_NUM_FORMS": "20",
        "tr-0-at": (now - timedelta(hours=1)).strftime(FMT),
        "tr-0-amount": "3000",
        "tr-0-method": "bank_transfer",
        "tr-0-to_account": GOOD_CARD,
    }
    data.update(changes)
    return data


def test_tasks_page_links_to_the_report(client, cast, link):
    sign_in(client, link)
    html = client.get(reverse("member_tasks", args=[link.token])).content.decode()
    assert "我被骗了，马上报告" in html and reverse("member_report", args=[link.token]) in html


def test_report_needs_a_member(client, cast, link):
    response = client.get(reverse("member_report", args=[link.token]))
    assert response.status_code == 302 and "signin" in response.url
    assert client.post(reverse("member_report", args=[link.token]), report_data()).status_code == 302
    assert Case.objects.count() == 0
    assert client.get(reverse("member_report", args=["no-such-link"])).status_code == 404


def test_student_reports_and_the_alert_goes_out_at_once(client, cast, link):
    sign_in(client, link)
    page = client.get(reverse("member_report", args=[link.token])).content.decode()
    assert 'href="tel:110"' in page and 'href="tel:96110"' in page
    response = client.post(reverse("member_report", args=[link.token]), report_data())
    case = Case.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("member_report_done", args=[link.token, case.pk])
    assert case.victim == cast.student and case.unit == cast.cs2301
    assert case.reported_via == ReportedVia.SELF and case.recorded_by is None
    assert case.state == CaseState.ALERTED and Alert.objects.filter(case=case).exists()
    assert case.total_loss == Decimal("3000.00")
    assert case.victim_phone_masked == "138****8000"  # from the roster
    assert set(case.indicators.values_list("kind", "value")) == {
        (IndicatorKind.PHONE, "17123456789"),
        (IndicatorKind.PHONE, "95588"),
        (IndicatorKind.URL, "http://lipei.example.com"),
    }
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds[:2] == [CaseEvent.Kind.REPORTED, CaseEvent.Kind.ALERT_SENT]
    done = client.get(response.url).content.decode()
    assert case.number in done and "学校和警方已经收到" in done
    assert 'href="tel:110"' in done and 'href="tel:96110"' in done and "解冻费" in done


def test_a_report_without_transfers_still_alerts(client, cast, link):
    sign_in(client, link)
    data = report_data(fraud_type="", channel="", occurred_at="", **{"tr-0-at": "", "tr-0-amount": ""})
    response = client.post(reverse("member_report", args=[link.token]), data)
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.state == CaseState.ALERTED and case.fraud_type == "other" and case.channel == "other"


def test_double_submit_counts_once(client, cast, link):
    sign_in(client, link)
    first = client.post(reverse("member_report", args=[link.token]), report_data())
    second = client.post(reverse("member_report", args=[link.token]), report_data())
    assert first.url == second.url and Case.objects.count() == 1
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.REPORTED).count() == 1


def test_bad_input_is_refused_and_kept(client, cast, link):
    sign_in(client, link)
    data = report_data(suspect_phones="12345", **{"tr-0-amount": "-3"})
    response = client.post(reverse("member_report", args=[link.token]), data)
    html = response.content.decode()
    assert response.status_code == 400 and Case.objects.count() == 0
    assert "电话号码“12345”格式不正确" in html and "不能为负数" in html
    assert "12345" in html and 'value="-3"' in html and "理赔" in html


def test_the_member_lists_their_own_cases_only(client, cast, link):
    from fanzha.cases import actions
    from tests.cases.conftest import intake

    other = actions.report_case(intake(cast.ma2301, cast.math_student), cast.school_admin)
    sign_in(client, link)
    client.post(reverse("member_report", args=[link.token]), report_data())
    mine = Case.objects.exclude(pk=other.pk).get()
    html = client.get(reverse("member_reports", args=[link.token])).content.decode()
    assert mine.number in html and "已预警止付" in html and other.number not in html
    assert client.get(reverse("member_report_done", args=[link.token, other.pk])).status_code == 404


def test_another_members_case_is_not_found(client, cast, link):
    sign_in(client, link)
    client.post(reverse("member_report", args=[link.token]), report_data())
    case = Case.objects.get()
    client.cookies.clear()
    sign_in_parent(client, link)
    assert client.get(reverse("member_report_done", args=[link.token, case.pk])).status_code == 404


def test_a_guardian_is_sent_to_110(client, cast, link):
    sign_in_parent(client, link)
    page = client.get(reverse("member_report", args=[link.token]))
    html = page.content.decode()
    assert page.status_code == 200 and "家长不能在这里替自己报案" in html and 'href="tel:96110"' in html
    assert 'name="fraud_type"' not in html
    client.post(reverse("member_report", args=[link.token]), report_data())
    assert Case.objects.count() == 0


def test_a_future_transfer_is_blamed_on_its_row_not_on_the_empty_start(client, cast, link):
    sign_in(client, link)
    later = (timezone.localtime() + timedelta(hours=3)).strftime(FMT)
    data = report_data(occurred_at="", **{"tr-0-at": later})
    response = client.post(reverse("member_report", args=[link.token]), data)
    html = response.content.decode()
    assert response.status_code == 400 and Case.objects.count() == 0
    assert "转账时间不能晚于现在" in html
    assert "发案时间不能晚于现在" not in html and "发案时间不能晚于报案时间" not in html


# The daily limit of self-reports ----------------------------------------------------------------------


def test_a_fourth_report_in_a_day_is_refused_calmly(client, cast, link):
    """Each self-report pages the police; one person files at most three a day (the default)."""
    sign_in(client, link)
    url = reverse("member_report", args=[link.token])
    for i in range(3):
        assert client.post(url, report_data(token=f"limit-{i}")).status_code == 302
    refused = client.post(url, report_data(token="limit-3"))
    html = refused.content.decode()
    assert refused.status_code == 429
    assert "你的辅导员已经收到你之前的报告" in html
    assert 'href="tel:110"' in html and 'href="tel:96110"' in html
    assert 'name="fraud_type"' not in html  # no form to fill in vain
    assert Case.objects.count() == 3 and Alert.objects.count() == 3
    page = client.get(url)  # the form itself says so before anything is typed
    assert page.status_code == 200 and "你的辅导员已经收到你之前的报告" in page.content.decode()
    assert 'name="fraud_type"' not in page.content.decode()


def test_the_limit_is_per_person_and_per_day(client, cast, link, settings):
    from fanzha.cases import actions
    from tests.cases.conftest import intake

    settings.FANZHA_SELF_REPORTS_PER_DAY = 1
    actions.report_case(intake(cast.cs2301, cast.student), cast.school_admin)  # staff's: not counted
    sign_in(client, link)
    url = reverse("member_report", args=[link.token])
    assert client.post(url, report_data(token="day-1")).status_code == 302
    assert client.post(url, report_data(token="day-2")).status_code == 429
    # the same form sent again is the first report, not a refusal
    again = client.post(url, report_data(token="day-1"))
    again_case = Case.objects.get(submit_token__endswith=":day-1")
    assert again.status_code == 302
    assert again.url == reverse("member_report_done", args=[link.token, again_case.pk])
    # 25 hours later the student may report again
    Case.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert client.post(url, report_data(token="day-3")).status_code == 302
    assert Case.objects.filter(reported_via=ReportedVia.SELF).count() == 2
