"""One place for students and parents (issue 12, item 8): someone signed in to their account, however
they signed in, sees the class link's task page — pledge, app items, quiz, parent notices per child,
the letters they sign, the report button — at /me/, and does each task there; no link that is not
theirs opens. And member sign-in (item 7): parents sign in by SMS code through a real gateway (or the
demo's), and the SMS code path says so plainly when no gateway can send one."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from fanzha.campaigns.letters import actions as letters
from fanzha.campaigns.models import LetterSignature, ResponsibilityLetter
from fanzha.cases.models import Case, ReportedVia
from fanzha.notify.models import DemoSms
from fanzha.org import actions as org_actions
from fanzha.org.models import Guardianship, MembershipRole, User
from fanzha.reach import actions
from fanzha.reach.models import Attestation, Item, OneTimeCode
from tests.campaigns.conftest import make_campaign as make_letters_campaign
from tests.campaigns.files import png
from tests.cases.member.test_report import report_data
from tests.codes import give_code
from tests.conftest import PASSWORD
from tests.notify.conftest import aliyun  # noqa: F401  (the Alibaba Cloud SMS fake, as a fixture)
from tests.reach.conftest import data_url

pytestmark = pytest.mark.django_db


def sign_in_with_password(client, username: str) -> None:
    """The account's own sign-in (the login page), as a student or parent does it."""
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]


# A student -----------------------------------------------------------------------------------------


def test_a_student_signed_in_by_password_does_the_pledge_from_me_and_reports(client, cast, campaign):
    sign_in_with_password(client, "2023001")
    home = client.get(reverse("home"))
    assert home.url == reverse("member_home")
    link = actions.ensure_class_link(cast.cs2301)  # created ahead (the demo, member-codes, or /me/'s POST)
    page = client.get(reverse("member_home")).content.decode()
    pledge = reverse("member_pledge", args=[link.token, campaign.pk])
    # the class link's task page: every item, the report button, the tips
    for item in (Item.PLEDGE_SIGNED, Item.APP_INSTALLED, Item.QUIZ_PASSED):
        assert f'data-item="{item}"' in page
    assert pledge in page and reverse("member_report", args=[link.token]) in page
    assert reverse("member_app", args=[link.token, campaign.pk]) in page
    assert reverse("member_quiz", args=[link.token, campaign.pk]) in page
    # their own record is shown here, with no link into the staff pages of people
    assert 'href="/people/' not in page and "张三" in page

    assert client.get(pledge).status_code == 200
    signed = client.post(pledge, {"signature": data_url(png())})
    assert signed.url == reverse("member_home")  # back to their own page, not the link's
    attestation = Attestation.objects.get(person=cast.student, item=Item.PLEDGE_SIGNED)
    assert attestation.is_counted and attestation.campaign == campaign
    done = client.get(reverse("member_home")).content.decode()
    assert pledge not in done  # nothing left to do there

    report = client.post(reverse("member_report", args=[link.token]), report_data())
    assert report.status_code == 302
    case = Case.objects.get()
    assert (case.victim, case.reported_via, case.unit) == (cast.student, ReportedVia.SELF, cast.cs2301)
    assert client.get(report.url).status_code == 200  # what to do now


def test_the_member_pages_of_an_account_lead_back_to_me_and_sign_out_of_the_account(client, cast, campaign):
    client.force_login(cast.student_user)
    link = actions.ensure_class_link(cast.cs2301)
    body = client.get(reverse("member_pledge", args=[link.token, campaign.pk])).content.decode()
    assert f'href="{reverse("member_home")}"' in body
    assert (
        f'action="{reverse("logout")}"' in body and reverse("member_signout", args=[link.token]) not in body
    )


def test_one_student_cannot_reach_another_students_tasks(client, cast, campaign):
    client.force_login(cast.student_user)  # 张三 of CS2301
    math = actions.ensure_class_link(cast.ma2301)  # 王五's class
    for name, args in (
        ("member_tasks", [math.token]),
        ("member_pledge", [math.token, campaign.pk]),
        ("member_report", [math.token]),
    ):
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302 and response.url == reverse("member_signin", args=[math.token])
    client.post(reverse("member_pledge", args=[math.token, campaign.pk]), {"signature": data_url(png())})
    assert not Attestation.objects.filter(person=cast.math_student).exists()
    assert not Attestation.objects.filter(person=cast.student).exists()
    # nor a parent's page for 张三's own class: he is no guardian
    own = actions.ensure_class_link(cast.cs2301)
    notice = reverse("member_notice", args=[own.token, campaign.pk, cast.student.pk])
    assert client.get(notice).status_code == 404


# A parent ------------------------------------------------------------------------------------------


@pytest.fixture
def second_child(cast):
    child = org_actions.save_person(root=cast.uni, name="张小妹", kind="student", external_number="2023201")
    org_actions.add_membership(child, cast.ma2301)
    org_actions.link_guardian(cast.parent, child, Guardianship.Relation.FATHER)
    return child


def test_a_parent_sees_each_child_and_signs_each_notice_from_me(client, cast, campaign, second_child):
    client.force_login(cast.parent_user)
    assert client.get(reverse("home")).url == reverse("member_home")
    cs, ma = actions.ensure_class_link(cast.cs2301), actions.ensure_class_link(cast.ma2301)
    page = client.get(reverse("member_home"))
    body = page.content.decode()
    assert [g["unit"] for g in page.context["guardian"]] == [cast.cs2301, cast.ma2301]  # each child's class
    first = reverse("member_notice", args=[cs.token, campaign.pk, cast.student.pk])
    second = reverse("member_notice", args=[ma.token, campaign.pk, second_child.pk])
    assert first in body and second in body and page.context["own"] is None
    for url in (first, second):
        response = client.post(url, {"signature": data_url(png())})
        assert response.url == reverse("member_home")
    rows = Attestation.objects.filter(item=Item.PARENT_NOTICE_SIGNED).order_by("person__name")
    assert {(a.person, a.by_guardian) for a in rows} == {
        (cast.student, cast.parent),
        (second_child, cast.parent),
    }
    # signed: the page shows each as done
    after = client.get(reverse("member_home")).content.decode()
    assert first not in after and second not in after


def test_a_parent_cannot_sign_for_a_child_not_theirs(client, cast, campaign):
    client.force_login(cast.parent_user)
    link = actions.ensure_class_link(cast.cs2301)
    other = reverse("member_notice", args=[link.token, campaign.pk, cast.monitor.pk])
    assert client.post(other, {"signature": data_url(png())}).status_code == 404
    assert not Attestation.objects.exists()


# A dorm head ---------------------------------------------------------------------------------------


@pytest.fixture
def dorm_letter(cast) -> ResponsibilityLetter:
    """The dormitory letter of a running campaign (class CS2301 above room D1-101), 李四 the room's head."""
    campaign = make_letters_campaign(cast)
    letters.generate_letters(campaign, cast.school_admin)
    org_actions.add_membership(cast.monitor, cast.d1_101, MembershipRole.DORM_HEAD)
    return ResponsibilityLetter.objects.get(campaign=campaign, lower_unit=cast.d1_101)


def test_a_dorm_head_signs_the_dormitory_letter_from_me(client, cast, campaign, dorm_letter):
    head = org_actions.create_account(cast.monitor, PASSWORD)
    sign_in_with_password(client, "2023002")
    link = actions.ensure_class_link(cast.cs2301)
    body = client.get(reverse("member_home")).content.decode()
    url = reverse("member_letter", args=[link.token, dorm_letter.pk])
    assert 'data-testid="member-letters"' in body and url in body and dorm_letter.title in body
    page = client.get(url).content.decode()
    assert dorm_letter.body.splitlines()[0] in page and "signature-pad" in page
    response = client.post(url, {"signature": data_url(png())})
    assert response.url == reverse("member_home")
    signature = LetterSignature.objects.get(letter=dorm_letter)
    assert (signature.side, signature.signer_name, signature.signer) == ("lower", "李四", head)
    assert url not in client.get(reverse("member_home")).content.decode()  # nothing left to sign
    assert client.post(url, {"signature": data_url(png())}).status_code == 404  # once only


def test_a_dorm_head_on_the_class_link_signs_it_too(client, cast, campaign, dorm_letter):
    """No account needed: the class link's task page is the same page."""
    link = actions.ensure_class_link(cast.cs2301)
    counsellor = cast.counsellor
    code = give_code(cast.monitor, counsellor)
    client.post(reverse("member_signin", args=[link.token]), {"number": "2023002", "code": code})
    tasks = client.get(reverse("member_tasks", args=[link.token])).content.decode()
    url = reverse("member_letter", args=[link.token, dorm_letter.pk])
    assert url in tasks
    assert client.post(url, {"signature": data_url(png())}).url == reverse("member_tasks", args=[link.token])
    signature = LetterSignature.objects.get(letter=dorm_letter)
    assert (signature.signer_name, signature.signer) == ("李四", None)


def test_only_the_head_signs_and_only_the_lower_side(client, cast, campaign, dorm_letter):
    client.force_login(cast.student_user)  # 张三 lives in the room but does not head it
    link = actions.ensure_class_link(cast.cs2301)
    url = reverse("member_letter", args=[link.token, dorm_letter.pk])
    assert url not in client.get(reverse("member_home")).content.decode()
    assert client.post(url, {"signature": data_url(png())}).status_code == 404
    assert not LetterSignature.objects.exists()
    assert letters.member_may_sign(cast.monitor, dorm_letter, "lower")
    assert not letters.member_may_sign(cast.monitor, dorm_letter, "upper")
    class_letter = ResponsibilityLetter.objects.get(campaign=dorm_letter.campaign, lower_unit=cast.cs2301)
    assert not letters.member_may_sign(cast.monitor, class_letter, "lower")  # a monitor heads no class letter


# Signing in by SMS code ----------------------------------------------------------------------------


def test_without_a_gateway_the_pages_say_no_code_can_be_sent(client, cast, settings):
    settings.FANZHA_SMS_BACKEND = "none"
    link = actions.ensure_class_link(cast.cs2301)
    page = client.get(reverse("member_signin", args=[link.token])).content.decode()
    assert 'name="send_code"' not in page and 'data-testid="no-sms"' in page
    response = client.post(
        reverse("member_signin", args=[link.token]), {"number": "2023001", "send_code": "1"}
    )
    assert response.status_code == 400 and "无法发送验证码" in response.content.decode()
    parent = client.get(reverse("member_guardian_signin", args=[link.token])).content.decode()
    assert "无法向家长发送验证码" in parent and 'name="phone"' not in parent
    response = client.post(reverse("member_guardian_signin", args=[link.token]), {"phone": "13900139000"})
    assert response.status_code == 400 and "已发送" not in response.content.decode()
    assert not OneTimeCode.objects.exists()  # nothing issued that nobody can receive


def test_a_parent_signs_in_by_sms_code_through_the_gateway(client, cast, campaign, aliyun):  # noqa: F811
    link = actions.ensure_class_link(cast.cs2301)
    response = client.post(reverse("member_guardian_signin", args=[link.token]), {"phone": "139 0013 9000"})
    assert response.url == reverse("member_code", args=[link.token])
    [sent] = aliyun.sent  # the approved code template, the code as its one variable
    assert (sent.phone, sent.template) == ("13900139000", "SMS_100001")
    signed_in = client.post(reverse("member_code", args=[link.token]), {"code": sent.params["code"]})
    assert signed_in.url == reverse("member_tasks", args=[link.token])
    page = client.get(signed_in.url).content.decode()
    assert reverse("member_notice", args=[link.token, campaign.pk, cast.student.pk]) in page


def test_in_the_demo_a_parent_reads_the_code_on_the_demo_page(client, cast, settings):
    settings.FANZHA_SMS_BACKEND = "demo"
    link = actions.ensure_class_link(cast.cs2301)
    client.post(reverse("member_guardian_signin", args=[link.token]), {"phone": "13900139000"})
    code = re.search(r"\d{6}", DemoSms.objects.get().text).group(0)
    root = User.objects.create_superuser("root", password=PASSWORD)
    admin = client.__class__()
    admin.force_login(root)
    assert code in admin.get(reverse("sms_demo")).content.decode()
    assert client.post(reverse("member_code", args=[link.token]), {"code": code}).status_code == 302


# A GET writes nothing (issue 15) --------------------------------------------------------------------


def writes(queries) -> list[str]:
    """The statements of a captured request that write."""
    sql = [q["sql"].lstrip() for q in queries.captured_queries]
    return [s for s in sql if s.upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def test_a_get_of_me_writes_nothing_and_the_first_post_opens_the_class_page(client, cast, campaign):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fanzha.reach.models import ClassLink

    client.force_login(cast.student_user)
    client.get(reverse("member_home"))  # the session and last-login writes of a first request
    assert not ClassLink.objects.filter(unit=cast.cs2301).exists()
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("member_home"))
    assert page.status_code == 200
    assert writes(queries) == []
    assert not ClassLink.objects.filter(unit=cast.cs2301).exists()
    assert 'data-testid="open-class-page"' in page.content.decode()
    # The member opens their class's page with a POST; then the tasks are there.
    opened = client.post(reverse("member_home"))
    assert opened.status_code == 302 and opened.url == reverse("member_home")
    link = ClassLink.objects.get(unit=cast.cs2301)
    body = client.get(reverse("member_home")).content.decode()
    assert reverse("member_pledge", args=[link.token, campaign.pk]) in body
    # Once the link exists, a GET still writes nothing.
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("member_home"))
    assert writes(queries) == []
