"""Parents install the National Anti-Fraud Center app (plan 篇三, issue 13 item 10): a parent declares it
on their own pages (/me/ and the class link's parent pages), with an optional screenshot; it counts
for each child in the class coverage figures and the export."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from fanzha.org import actions as org_actions
from fanzha.org.models import Guardianship
from fanzha.reach import actions, queries
from fanzha.reach.models import Attestation, Item
from tests.campaigns.files import jpeg
from tests.reach.conftest import TEMPLATE, make_campaign
from tests.reach.member.test_pages import sign_in, sign_in_parent

pytestmark = pytest.mark.django_db
S = Attestation.Status


@pytest.fixture
def campaign(cast):
    text = TEMPLATE.replace('"parent_notice_signed",', '"parent_notice_signed",\n    "parent_app_installed",')
    return make_campaign(cast, text=text, code="reach-parent-app")


@pytest.fixture
def second_child(cast):
    child = org_actions.save_person(root=cast.uni, name="张小妹", kind="student", external_number="2023009")
    org_actions.add_membership(child, cast.cs2301)
    org_actions.link_guardian(cast.parent, child, Guardianship.Relation.FATHER)
    return child


def page(campaign, link):
    return reverse("member_parent_app", args=[link.token, campaign.pk])


def test_a_parent_declares_the_app_on_the_class_link_with_a_screenshot(
    client, cast, link, campaign, second_child
):
    sign_in_parent(client, link)
    tasks = client.get(reverse("member_tasks", args=[link.token])).content.decode()
    assert page(campaign, link) in tasks
    assert client.get(page(campaign, link)).status_code == 200
    shot = SimpleUploadedFile("IMG_0002.JPG", jpeg(), content_type="image/jpeg")
    response = client.post(page(campaign, link), {"installed": "on", "screenshot": shot})
    assert response.status_code == 302
    rows = Attestation.objects.filter(item=Item.PARENT_APP_INSTALLED).order_by("person_id")
    assert {r.person for r in rows} == {cast.student, second_child}
    assert all(r.status == S.DECLARED and r.by_guardian == cast.parent for r in rows)
    assert rows[0].evidence.name and rows[0].evidence.name == rows[1].evidence.name
    again = client.post(page(campaign, link), {"installed": "on"})
    assert (
        again.status_code == 302 and Attestation.objects.filter(item=Item.PARENT_APP_INSTALLED).count() == 2
    )
    assert page(campaign, link) not in client.get(reverse("member_tasks", args=[link.token])).content.decode()


def test_the_box_is_needed_and_students_have_no_such_page(client, cast, link, campaign):
    sign_in_parent(client, link)
    response = client.post(page(campaign, link), {})
    assert response.status_code == 400 and "请先安装APP" in response.content.decode()
    assert not Attestation.objects.exists()
    client.logout()
    sign_in(client, link)
    assert client.get(page(campaign, link)).status_code == 404


def test_a_parent_signed_in_to_their_account_declares_from_me(client, cast, campaign):
    link = actions.ensure_class_link(cast.cs2301)
    client.force_login(cast.parent_user)
    assert page(campaign, link) in client.get(reverse("member_home")).content.decode()
    response = client.post(page(campaign, link), {"installed": "on"})
    assert response.url == reverse("member_home")
    assert Attestation.objects.get(item=Item.PARENT_APP_INSTALLED).person == cast.student


def test_it_counts_in_the_class_figures_and_the_export(client, cast, campaign):
    actions.declare_parent_app(cast.parent, [cast.student], campaign)
    missing = queries.missing(campaign, cast.cs2301, Item.PARENT_APP_INSTALLED)
    assert cast.student not in missing and cast.monitor in missing
    client.force_login(cast.counsellor)
    response = client.get(reverse("reach_export", args=[cast.cs2301.pk, campaign.pk]))
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    column = rows[0].index("家长安装国家反诈中心APP")
    by_name = {r[1]: r for r in rows[1:]}
    assert by_name[cast.student.name][column].startswith("本人已申报")
    assert by_name[cast.monitor.name][column] == "未完成"
    matrix = client.get(reverse("reach_matrix", args=[cast.cs2301.pk, campaign.pk]))
    assert matrix.status_code == 200 and "家长安装国家反诈中心APP" in matrix.content.decode()


def test_only_a_registered_guardian_counts(cast, campaign):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        actions.declare_parent_app(cast.parent, [cast.math_student], campaign)
    assert not Attestation.objects.exists()


def test_a_reminder_goes_to_the_parent_and_asks_for_the_app(cast, campaign):
    from fanzha.notify.models import Outbox

    result = actions.remind_missing(campaign, cast.cs2301, Item.PARENT_APP_INSTALLED, cast.counsellor)
    assert result.queued == 1
    message = Outbox.objects.get()
    assert "国家反诈中心APP" in message.subject and cast.student.name in message.body
