"""Member pages: pledge with a drawn signature, app declaration, parent notice per child, quiz, tips.

Every refusal leaves nothing behind: no row, no stored file; a double submission counts once.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from fanzha.learn.models import Attempt, Question, QuizPaper
from fanzha.org import actions as org_actions
from fanzha.org.models import Guardianship
from fanzha.reach import actions
from fanzha.reach.models import Attestation, AttestationEvent, Item
from tests.campaigns.files import jpeg, png
from tests.codes import give_code
from tests.reach.conftest import data_url, last_code, stored


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


def url(name, link, campaign, *args):
    return reverse(name, args=[link.token, campaign.pk, *args])


# Pledge ------------------------------------------------------------------------------------------


def test_pledge_page_uses_the_signature_pad(client, cast, link, campaign):
    sign_in(client, link)
    response = client.get(url("member_pledge", link, campaign))
    body = response.content.decode()
    assert response.status_code == 200
    assert campaign.title in body and 'id="signature-pad"' in body
    assert "campaigns/signature.js" in body
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)  # no inline scripts


def test_sign_pledge_with_a_real_png(client, cast, link, campaign):
    sign_in(client, link)
    before = stored("pledges")
    response = client.post(url("member_pledge", link, campaign), {"signature": data_url(png())})
    assert response.status_code == 302
    row = Attestation.objects.get(person=cast.student, item=Item.PLEDGE_SIGNED)
    assert row.status == "declared" and row.signature.name.endswith(".png")
    assert stored("pledges") == before + 1
    again = client.post(url("member_pledge", link, campaign), {"signature": data_url(png(50, 30))})
    assert again.status_code == 302  # a second submit: told, nothing new stored or counted
    assert stored("pledges") == before + 1 and AttestationEvent.objects.count() == 1
    page = client.get(url("member_pledge", link, campaign)).content.decode()
    assert "signature.js" not in page


@pytest.mark.parametrize(
    "value",
    [
        "data:image/png;base64," + "R0lGODlhAQABAAAAACw=",  # a GIF inside a PNG data URL
        "data:text/html;base64,PGI+aGk8L2I+",
        "data:image/png;base64,@@@not base64@@@",
        data_url(b"\x89PNG\r\n\x1a\n" + b"\0" * (600 * 1024)),  # over the 500 KB limit
        "data:image/png;base64," + "A" * (1100 * 1024),  # longer than the field allows
        data_url(png(drawn=False)),
        "",
    ],
)
def test_bad_signatures_are_refused_and_nothing_is_stored(client, cast, link, campaign, value):
    sign_in(client, link)
    before = stored("pledges")
    response = client.post(url("member_pledge", link, campaign), {"signature": value})
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert not Attestation.objects.exists() and stored("pledges") == before


# App declaration ----------------------------------------------------------------------------------


def test_declare_app_with_a_screenshot(client, cast, link, campaign):
    sign_in(client, link)
    assert client.get(url("member_app", link, campaign)).status_code == 200
    shot = SimpleUploadedFile("IMG_0001.JPG", jpeg(), content_type="image/jpeg")
    response = client.post(
        url("member_app", link, campaign),
        {"app_installed": "on", "app_warnings_on": "on", "screenshot": shot},
    )
    assert response.status_code == 302
    rows = Attestation.objects.filter(person=cast.student).order_by("item")
    assert [r.item for r in rows] == [Item.APP_INSTALLED, Item.APP_WARNINGS_ON]
    assert rows[0].evidence.name == rows[1].evidence.name and rows[0].evidence.name.endswith(".jpg")
    page = client.get(url("member_app", link, campaign)).content.decode()
    assert re.search(r'name="app_installed"[^>]*disabled|disabled[^>]*name="app_installed"', page)
    response = client.post(url("member_app", link, campaign), {"app_installed": "on", "app_registered": "on"})
    assert response.status_code == 302  # the disabled box keeps its value; only "registered" is new
    assert Attestation.objects.filter(person=cast.student).count() == 3


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("shot.png", b"<html><script>alert(1)</script></html>"),
        ("shot.jpg", b"%PDF-1.4 a document renamed"),
        ("shot.jpg", jpeg() + b"\0" * (10 * 1024 * 1024)),
    ],
)
def test_bad_screenshots_are_refused(client, cast, link, campaign, name, content):
    sign_in(client, link)
    before = stored("attest")
    upload = SimpleUploadedFile(name, content)
    response = client.post(url("member_app", link, campaign), {"app_installed": "on", "screenshot": upload})
    assert response.status_code == 400 and 'class="errorlist' in response.content.decode()
    assert not Attestation.objects.exists() and stored("attest") == before


def test_app_declaration_needs_a_box(client, cast, link, campaign):
    sign_in(client, link)
    response = client.post(url("member_app", link, campaign), {})
    assert response.status_code == 400 and "请至少勾选一项" in response.content.decode()


# Parent notice --------------------------------------------------------------------------------------


@pytest.fixture
def second_child(cast):
    child = org_actions.save_person(root=cast.uni, name="张小妹", kind="student", external_number="2023009")
    org_actions.add_membership(child, cast.cs2301)
    org_actions.link_guardian(cast.parent, child, Guardianship.Relation.FATHER)
    return child


def test_parent_signs_for_each_child(client, cast, link, campaign, second_child):
    sign_in_parent(client, link)
    tasks = client.get(reverse("member_tasks", args=[link.token])).content.decode()
    assert cast.student.name in tasks and second_child.name in tasks
    response = client.post(
        url("member_notice", link, campaign, cast.student.pk), {"signature": data_url(png())}
    )
    assert response.status_code == 302
    row = Attestation.objects.get(item=Item.PARENT_NOTICE_SIGNED)
    assert row.person == cast.student and row.by_guardian == cast.parent
    assert not Attestation.objects.filter(person=second_child).exists()
    response = client.post(
        url("member_notice", link, campaign, second_child.pk), {"signature": data_url(png())}
    )
    assert response.status_code == 302
    assert Attestation.objects.filter(item=Item.PARENT_NOTICE_SIGNED).count() == 2
    again = client.post(url("member_notice", link, campaign, second_child.pk), {"signature": data_url(png())})
    assert (
        again.status_code == 302 and Attestation.objects.filter(item=Item.PARENT_NOTICE_SIGNED).count() == 2
    )


def test_parent_cannot_sign_for_another_child(client, cast, link, campaign):
    sign_in_parent(client, link)
    response = client.post(
        url("member_notice", link, campaign, cast.monitor.pk), {"signature": data_url(png())}
    )
    assert response.status_code == 404
    assert client.get(url("member_pledge", link, campaign)).status_code == 404  # a parent has no pledge here
    assert not Attestation.objects.exists()


def test_student_cannot_open_the_notice(client, cast, link, campaign):
    sign_in(client, link)
    assert client.get(url("member_notice", link, campaign, cast.student.pk)).status_code == 404


def test_pages_need_a_member(client, cast, link, campaign):
    for name, args in (("member_pledge", ()), ("member_app", ()), ("member_quiz", ())):
        response = client.get(url(name, link, campaign, *args))
        assert response.status_code == 302 and response["Location"] == reverse(
            "member_signin", args=[link.token]
        )


def test_campaign_of_another_tree_is_not_found(client, cast, link, campaign):
    from tests.reach.conftest import make_campaign

    other = make_campaign(cast, code="other-tree")
    other.unit = cast.other
    other.save()
    sign_in(client, link)
    assert client.get(url("member_pledge", link, other)).status_code == 404


# Quiz -----------------------------------------------------------------------------------------------


@pytest.fixture
def paper(campaign):
    for i in range(3):
        Question.objects.create(
            code=f"q{i}",
            kind=Question.Kind.SINGLE,
            stem=f"第{i}题：陌生人要验证码，怎么办？",
            choices=["给他", "不给，并核实"],
            answer=[1],
            explanation="验证码不给任何人。",
            audiences=["student"],
        )
    return QuizPaper.objects.create(
        code="reach-quiz",
        title="防骗知识测试",
        audience="student",
        rules={"single": 3},
        time_limit_minutes=10,
        pass_mark=60,
        max_attempts=3,
        campaign=campaign,
    )


def test_quiz_pass_counts_once(client, cast, link, campaign, paper):
    sign_in(client, link)
    page = client.get(url("member_quiz", link, campaign))
    assert page.status_code == 200 and "开始答题" in page.content.decode()
    client.post(url("member_quiz", link, campaign), {"action": "start"})
    attempt = Attempt.objects.get(person=cast.student)
    page = client.get(url("member_quiz", link, campaign)).content.decode()
    assert "reach/quiz.js" in page and "data-deadline" in page
    answers = {f"q{pk}": "1" for pk in attempt.questions}
    response = client.post(
        url("member_quiz", link, campaign), {"action": "submit", "attempt": attempt.pk, **answers}
    )
    assert response.status_code == 302
    row = Attestation.objects.get(person=cast.student, item=Item.QUIZ_PASSED)
    assert row.status == "verified" and row.verified_by is None
    assert row.events.get().source == "system"
    again = client.post(
        url("member_quiz", link, campaign), {"action": "submit", "attempt": attempt.pk, **answers}
    )
    assert again.status_code == 302
    result = client.get(again["Location"]).content.decode()
    assert "已经提交过" in result
    assert Attestation.objects.filter(item=Item.QUIZ_PASSED).count() == 1
    assert AttestationEvent.objects.filter(attestation=row).count() == 1


def test_quiz_fail_and_late_do_not_count(client, cast, link, campaign, paper):
    sign_in(client, link)
    client.post(url("member_quiz", link, campaign), {"action": "start"})
    attempt = Attempt.objects.get(person=cast.student)
    wrong = {f"q{pk}": "0" for pk in attempt.questions}
    client.post(url("member_quiz", link, campaign), {"action": "submit", "attempt": attempt.pk, **wrong})
    assert not Attestation.objects.exists()
    client.post(url("member_quiz", link, campaign), {"action": "start"})
    late = Attempt.objects.get(person=cast.student, submitted_at__isnull=True)
    Attempt.objects.filter(pk=late.pk).update(deadline=timezone.now() - timedelta(minutes=5))
    right = {f"q{pk}": "1" for pk in late.questions}
    response = client.post(
        url("member_quiz", link, campaign), {"action": "submit", "attempt": late.pk, **right}
    )
    follow = client.get(response["Location"]).content.decode()
    assert "超过" in follow
    assert not Attestation.objects.exists()


def test_quiz_attempt_of_someone_else_is_not_found(client, cast, link, campaign, paper):
    from fanzha.learn import actions as learn

    theirs = learn.start_attempt(paper, cast.monitor, timezone.now())
    sign_in(client, link)
    response = client.post(url("member_quiz", link, campaign), {"action": "submit", "attempt": theirs.pk})
    assert response.status_code == 404


def test_quiz_without_a_paper(client, cast, link, campaign):
    sign_in(client, link)
    response = client.get(url("member_quiz", link, campaign))
    assert response.status_code == 200 and "暂未开放" in response.content.decode()


# Tips ------------------------------------------------------------------------------------------------


def test_tips_are_public_and_link_to_the_knowledge_base(client, link):
    response = client.get(reverse("member_tips", args=[link.token]))
    assert response.status_code == 200
    assert "96110" in response.content.decode()


def test_tasks_page_lists_items_with_status(client, cast, link, campaign):
    actions.attest(campaign, cast.student, Item.TRAINING_ATTENDED, "verified", actor=cast.counsellor)
    sign_in(client, link)
    body = client.get(reverse("member_tasks", args=[link.token])).content.decode()
    for label in ("签署承诺书", "安装国家反诈中心APP", "答题合格", "参加培训"):
        assert label in body
    assert "家长告知书已签" in body  # the student sees it; the parent signs it
    assert "已核实" in body
