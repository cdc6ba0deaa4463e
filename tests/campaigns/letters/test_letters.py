"""Responsibility letters: generated level by level, signed once per side, status per level, scope."""

from __future__ import annotations

import base64

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from fanzha.campaigns.letters import actions
from fanzha.campaigns.letters import queries as letters_queries
from fanzha.campaigns.letters.queries import letter_status, letters_to_sign
from fanzha.campaigns.models import CampaignEvent, LetterSignature, ResponsibilityLetter
from fanzha.org import actions as org_actions
from fanzha.org.models import MembershipRole
from tests.campaigns import files

pytestmark = pytest.mark.django_db


def letter(campaign, lower):
    return ResponsibilityLetter.objects.get(campaign=campaign, lower_unit=lower)


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


# Generation -------------------------------------------------------------------------------------


def test_generation_per_level(cast, campaign):
    result = actions.generate_letters(campaign, cast.school_admin)
    assert (result.created, result.existing, result.unmatched) == (6, 0, [])
    pairs = sorted(
        (x.level, x.upper_unit.code, x.lower_unit.code)
        for x in ResponsibilityLetter.objects.filter(campaign=campaign).select_related(
            "upper_unit", "lower_unit"
        )
    )
    assert pairs == [
        (0, "UNI", "CS"),
        (0, "UNI", "MA"),
        (1, "CS", "CS2301"),
        (1, "CS", "CS2302"),
        (1, "MA", "MA2301"),
        # the room is filed under the dormitory building: it goes with its students' class
        # (张三 of CS2301 and 王五 of MA2301: a tie, settled by tree order)
        (2, "CS2301", "D1-101"),
    ]
    cs = letter(campaign, cast.cs)
    assert cs.title == "示范大学与计算机学院防诈责任书"
    assert cs.body.startswith(
        f"{campaign.starts_on.year}年，示范大学与计算机学院签订本责任书，共同落实《{campaign.title}》"
    )
    assert cs.body.endswith("领导小组组长：王校长。")
    assert CampaignEvent.objects.filter(campaign=campaign, kind="letters_generated").exists()


def test_generation_is_idempotent_and_fills_gaps(cast, campaign):
    actions.generate_letters(campaign)
    new_class = org_actions.create_unit(parent=cast.ma, name="数学2302班", code="MA2302", kind="class")
    empty_room = org_actions.create_unit(parent=cast.d1, name="102室", code="D1-102", kind="dorm_room")
    result = actions.generate_letters(campaign)
    assert result.created == 1 and result.existing == 6
    assert result.unmatched == [(2, empty_room)]  # nobody lives there: no class to pair it with
    assert letter(campaign, new_class).upper_unit == cast.ma
    assert ResponsibilityLetter.objects.filter(campaign=campaign).count() == 7


def test_generation_stays_in_the_campaign_subtree(cast, campaign):
    actions.generate_letters(campaign)
    assert not ResponsibilityLetter.objects.filter(lower_unit__in=[cast.oc01, cast.other]).exists()


def test_unknown_placeholders_refused_only_outside_letters():
    from fanzha.campaigns.spec import TemplateError, parse_template
    from tests.campaigns.conftest import TEMPLATE

    parse_template(TEMPLATE)  # letters may name {upper_unit}, {lower_unit}, {campaign_title}
    with pytest.raises(TemplateError):
        parse_template(TEMPLATE.replace("让每一名师生", "{lower_unit}让每一名师生"))


# Signing --------------------------------------------------------------------------------------


def test_sign_both_sides(cast, campaign):
    actions.generate_letters(campaign)
    x = letter(campaign, cast.cs2301)
    assert actions.can_sign(cast.counsellor, x, "lower")
    assert not actions.can_sign(cast.counsellor, x, "upper")
    assert actions.can_sign(cast.college_admin, x, "upper")
    assert not actions.can_sign(cast.college_admin, x, "lower")  # nobody signs both sides
    signature = actions.sign_letter(x, "lower", "辅导员甲", files.png(), cast.counsellor)
    assert signature.signer == cast.counsellor and signature.signed_at
    assert signature.image.read() == files.png()
    actions.sign_letter(x, "upper", "院管理员", files.png(60, 30), cast.college_admin)
    assert LetterSignature.objects.filter(letter=x).count() == 2


def test_double_sign_refused(cast, campaign):
    actions.generate_letters(campaign)
    x = letter(campaign, cast.cs2301)
    actions.sign_letter(x, "lower", "辅导员甲", files.png(), cast.counsellor)
    with pytest.raises(ValidationError, match="乙方已于此前签署"):
        actions.sign_letter(x, "lower", "别人", files.png(50, 20), cast.counsellor)
    assert LetterSignature.objects.get(letter=x).signer_name == "辅导员甲"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (files.jpeg(), "签名图片无效"),
        (files.PDF, "签名图片无效"),
        (b"", "请先"),
        (files.png(drawn=False), "请先"),  # an empty pad
        (files.png(2400, 100), "尺寸"),
        (files.png(100, 1200), "尺寸"),
        (files.png()[:-12], "签名图片无效"),  # cut short
        (files.png() + b"\x00" * (600 * 1024), "太大"),
    ],
)
def test_bad_signature_refused(cast, campaign, content, message):
    actions.generate_letters(campaign)
    x = letter(campaign, cast.cs2301)
    with pytest.raises(ValidationError, match=message):
        actions.sign_letter(x, "lower", "辅导员甲", content, cast.counsellor)
    assert not LetterSignature.objects.exists()


def test_signer_name_required(cast, campaign):
    actions.generate_letters(campaign)
    with pytest.raises(ValidationError):
        actions.sign_letter(letter(campaign, cast.cs2301), "lower", "  ", files.png(), cast.counsellor)


def test_dorm_head_signs_the_room_side(cast, campaign):
    actions.generate_letters(campaign)
    org_actions.add_membership(cast.student, cast.d1_101, MembershipRole.DORM_HEAD)
    room = letter(campaign, cast.d1_101)
    assert actions.can_sign(cast.student_user, room, "lower")
    assert not actions.can_sign(cast.student_user, room, "upper")
    assert actions.can_sign(cast.counsellor, room, "upper")  # the class's counsellor
    assert not actions.can_sign(cast.student_user, letter(campaign, cast.cs2301), "lower")
    assert [(t.letter, t.side) for t in letters_to_sign(cast.student_user)] == [(room, "lower")]


# Status ------------------------------------------------------------------------------------------


def test_status_per_level(cast, campaign):
    actions.generate_letters(campaign)
    actions.sign_letter(letter(campaign, cast.cs2301), "lower", "辅导员甲", files.png(), cast.counsellor)
    actions.sign_letter(letter(campaign, cast.cs2301), "upper", "院管理员", files.png(), cast.college_admin)
    actions.sign_letter(letter(campaign, cast.cs2302), "upper", "院管理员", files.png(), cast.college_admin)
    levels = letter_status(cast.school_admin, campaign)
    assert [lv.title for lv in levels] == [
        "示范大学与学院防诈责任书",
        "学院与班级防诈责任书",
        "辅导员与宿舍防诈责任书",
    ]
    assert [(lv.total, lv.both, lv.one, lv.none) for lv in levels] == [
        (2, 0, 0, 2),
        (3, 1, 1, 1),
        (1, 0, 0, 1),
    ]
    missing = levels[1].missing
    assert [row.letter.lower_unit.code for row in missing] == ["CS2302", "MA2301"]
    assert missing[0].waiting_people == []  # nobody holds a grant at 计科2302班
    assert levels[0].missing[0].waiting_people == ["院管理员"]  # 计算机学院's administrator


def test_status_is_scoped(cast, campaign):
    actions.generate_letters(campaign)
    mine = letter_status(cast.counsellor, campaign)
    assert [lv.total for lv in mine] == [0, 1, 1]  # 计科2301班's letter and its room's
    college = letter_status(cast.college_admin, campaign)
    assert [lv.total for lv in college] == [1, 2, 1]


def test_status_lists_the_first_waiting_letters_and_counts_the_rest(client, cast, campaign, monkeypatch):
    monkeypatch.setattr(letters_queries, "MISSING_SHOWN", 1)  # a university's rooms are thousands
    actions.generate_letters(campaign)
    levels = letter_status(cast.school_admin, campaign)
    assert [(len(lv.missing), lv.more_missing) for lv in levels] == [(1, 1), (1, 2), (1, 0)]
    assert levels[0].missing[0].waiting_people == ["院管理员"]  # people are still named for those listed
    client.force_login(cast.school_admin)
    body = client.get(reverse("letter_status", args=[campaign.pk])).content.decode()
    assert "上面列出前 1 份，还有 2 份未签署的责任书未列出" in body


def test_the_people_named_to_sign_are_those_who_may(cast, campaign):
    """The status page names, for a waiting side, only people ``can_sign`` lets sign it: a counsellor's
    membership of a class or an inactive account's grant signs nothing there, a room's head does."""
    org_actions.add_membership(cast.monitor, cast.cs2302, MembershipRole.COUNSELLOR)
    org_actions.add_membership(cast.student, cast.d1_101, MembershipRole.DORM_HEAD)
    cast.college_admin.is_active = False
    cast.college_admin.save()
    named = letters_queries.responsible_people({cast.cs.pk, cast.cs2302.pk, cast.d1_101.pk})
    assert named.get(cast.cs2302.pk, []) == [] and named.get(cast.cs.pk, []) == []
    assert named[cast.d1_101.pk] == [cast.student.name]


# Pages: 404 outside, 403 read-only, nothing changes -------------------------------------------------


def test_status_page(client, cast, campaign):
    actions.generate_letters(campaign)
    client.force_login(cast.counsellor)
    response = client.get(reverse("letter_status", args=[campaign.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "计科2301班" in body and "数学2301班" not in body
    client.force_login(cast.outsider)
    assert client.get(reverse("letter_status", args=[campaign.pk])).status_code == 404


def test_generate_page_scope(client, cast, campaign):
    url = reverse("letter_generate", args=[campaign.pk])
    client.force_login(cast.counsellor)  # sees the campaign, does not run it
    assert client.post(url).status_code == 403
    client.force_login(cast.outsider)
    assert client.post(url).status_code == 404
    assert not ResponsibilityLetter.objects.exists()
    client.force_login(cast.school_admin)
    assert client.post(url).status_code == 302
    assert ResponsibilityLetter.objects.count() == 6


def test_letter_page_and_sign(client, cast, campaign):
    actions.generate_letters(campaign)
    x = letter(campaign, cast.cs2301)
    client.force_login(cast.counsellor)
    page = client.get(reverse("letter_detail", args=[x.pk]))
    assert page.status_code == 200
    assert page.context["sign"]["side"] == "lower"
    assert 'id="signature-pad"' in page.content.decode()
    assert page.context["form"].initial["signer_name"] == "辅导员甲"
    response = client.post(
        reverse("letter_sign", args=[x.pk]),
        {"side": "lower", "signer_name": "辅导员甲", "signature": data_url(files.png())},
    )
    assert response.status_code == 302
    assert LetterSignature.objects.filter(letter=x, side="lower").exists()
    image = client.get(reverse("letter_signature", args=[x.pk, "lower"]))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image["X-Content-Type-Options"] == "nosniff" and "sandbox" in image["Content-Security-Policy"]
    # the second time: refused with a clear message, nothing changes
    again = client.post(
        reverse("letter_sign", args=[x.pk]),
        {"side": "lower", "signer_name": "又一次", "signature": data_url(files.png(30, 30))},
    )
    assert again.status_code in (400, 403)
    assert LetterSignature.objects.filter(letter=x).count() == 1


def test_sign_page_refusals(client, cast, campaign):
    actions.generate_letters(campaign)
    x = letter(campaign, cast.cs2301)
    url = reverse("letter_sign", args=[x.pk])
    post = {"side": "lower", "signer_name": "辅导员甲", "signature": data_url(files.jpeg())}
    client.force_login(cast.counsellor)
    response = client.post(url, post)
    assert response.status_code == 400
    assert "签名图片无效" in response.content.decode()
    response = client.post(url, {**post, "signature": "data:image/png;base64,@@@"})
    assert response.status_code == 400
    response = client.post(url, {**post, "signature": ""})
    assert response.status_code == 400 and "请先在签名框内签名" in response.content.decode()
    assert client.post(url, {**post, "side": "upper"}).status_code == 403  # the college's side
    client.force_login(cast.auditor)  # sees the letter, may not sign it
    assert client.get(reverse("letter_detail", args=[x.pk])).status_code == 200
    assert client.post(url, {**post, "signature": data_url(files.png())}).status_code == 403
    client.force_login(cast.outsider)
    assert client.get(reverse("letter_detail", args=[x.pk])).status_code == 404
    assert client.post(url, {**post, "signature": data_url(files.png())}).status_code == 404
    assert client.get(reverse("letter_signature", args=[x.pk, "lower"])).status_code == 404
    client.force_login(cast.student_user)  # not a dormitory head: sees no letter
    assert client.get(reverse("letter_detail", args=[x.pk])).status_code == 404
    assert not LetterSignature.objects.exists()


def test_index_lists_letters_to_sign(client, cast, campaign):
    actions.generate_letters(campaign)
    client.force_login(cast.counsellor)
    response = client.get(reverse("letter_index"))
    assert response.status_code == 200
    assert [(t.letter.lower_unit.code, t.side) for t in response.context["to_sign"]] == [
        ("CS2301", "lower"),
        ("D1-101", "upper"),
    ]


def test_closed_campaign_letters_frozen(cast, campaign):
    actions.generate_letters(campaign)
    campaign.status = "closed"
    campaign.save()
    x = letter(campaign, cast.cs2301)
    with pytest.raises(ValidationError, match="已结束"):
        actions.sign_letter(x, "lower", "辅导员甲", files.png(), cast.counsellor)
    with pytest.raises(ValidationError, match="已结束"):
        actions.generate_letters(campaign)
    assert not LetterSignature.objects.exists()


# Only the party's own signer (issue 15) ---------------------------------------------------------


def test_only_the_partys_own_signer_signs(cast, campaign, django_user_model):
    actions.generate_letters(campaign)
    college_class = letter(campaign, cast.cs2301)  # 计算机学院 ↔ CS2301
    school_college = letter(campaign, cast.cs)  # 示范大学 ↔ 计算机学院
    root = django_user_model.objects.create_superuser("root", password="x")
    for user in (cast.school_admin, root):  # they see the college's letter but do not sign for it
        assert not actions.can_sign(user, college_class, "upper")
        assert not actions.can_sign(user, college_class, "lower")
        assert (college_class.pk, "upper") not in {(t.letter.pk, t.side) for t in letters_to_sign(user)}
    assert actions.can_sign(cast.school_admin, school_college, "upper")  # the school's own side
    assert not actions.can_sign(root, school_college, "upper")
    assert {(t.letter.lower_unit.code, t.side) for t in letters_to_sign(cast.school_admin)} == {
        ("CS", "upper"),
        ("MA", "upper"),
    }
    assert letters_to_sign(root) == []
    # the verb refuses them too, whatever the page offers
    with pytest.raises(PermissionDenied):
        actions.sign_letter(college_class, "upper", "校管理员", files.png(), cast.school_admin)
    with pytest.raises(PermissionDenied):
        actions.sign_letter(college_class, "lower", "超级管理员", files.png(), root)
    assert not LetterSignature.objects.exists()


def test_school_admin_is_not_offered_the_colleges_side(client, cast, campaign):
    actions.generate_letters(campaign)
    x = letter(campaign, cast.cs2301)
    client.force_login(cast.school_admin)
    page = client.get(reverse("letter_detail", args=[x.pk]))
    assert page.status_code == 200 and page.context["sign"] is None
    post = {"side": "upper", "signer_name": "校管理员", "signature": data_url(files.png())}
    assert client.post(reverse("letter_sign", args=[x.pk]), post).status_code == 403
    assert not LetterSignature.objects.exists()


def test_letters_to_sign_name_both_parties_and_who_is_waiting(client, cast, campaign):
    actions.generate_letters(campaign)
    x = letter(campaign, cast.cs2301)
    actions.sign_letter(x, "lower", "辅导员甲", files.png(), cast.counsellor)
    client.force_login(cast.college_admin)
    response = client.get(reverse("letter_index"))
    items = {t.letter.pk: t for t in response.context["to_sign"]}
    assert items[x.pk].waiting == "已由CS2301班签署，待计算机学院签署".replace("CS2301班", x.lower_unit.name)
    other = letter(campaign, cast.cs2302)
    assert items[other.pk].waiting == f"待计算机学院和{other.lower_unit.name}签署"
    html = response.content.decode()
    assert f"甲方：计算机学院 · 乙方：{x.lower_unit.name}" in html
    assert f"已由{x.lower_unit.name}签署，待计算机学院签署" in html
