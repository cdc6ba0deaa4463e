"""Template pages: list and detail, upload and edit with clear errors, downloads, and scope."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from docx import Document
from freezegun import freeze_time

from fanzha.campaigns.documents import formats
from fanzha.campaigns.models import CampaignTemplate
from fanzha.campaigns.plan_templates.actions import sync_builtin_templates
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.django_db

CUSTOM = """
code = "{code}"
title = "{{organisation}}寒假防骗专项提醒方案"
issuer_kinds = ["school", "college"]
levels = ["college", "class"]
attestations = ["parent_notice_signed"]

[[goals]]
code = "parents"
metric = "parent_notice_signed"
target = 100
deadline = "01-20"
description = "寒假前每位家长签收防骗提醒"

[[obligations]]
code = "holiday-meeting"
title = "放假前召开一次防骗主题班会"
level = "class"
frequency = "once"
due = "01-15"
evidence = ["photos", "attendees"]
activity_kinds = ["class_meeting"]
responsible = "counsellor"

[[sections]]
heading = "工作目标"
auto = "goals"

[[sections]]
heading = "工作安排"
auto = "obligations"
"""


def custom(code: str = "winter-break") -> str:
    return CUSTOM.format(code=code)


@pytest.fixture
def builtins(db):
    return sync_builtin_templates()


@pytest.fixture
def uni_template(cast, builtins):
    return CampaignTemplate.objects.create(
        code="uni-own",
        title="寒假防骗专项提醒方案",
        source="custom",
        text=custom("uni-own"),
        owner_unit=cast.uni,
    )


def upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="application/toml")


def test_list_shows_builtins_and_own_templates(client, cast, uni_template, django_assert_max_num_queries):
    client.force_login(cast.school_admin)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("template_list"))
    assert response.status_code == 200
    page = response.content.decode()
    for row in CampaignTemplate.objects.filter(source="builtin"):
        assert row.title in page
    assert "uni-own" in page
    assert reverse("template_create") in page
    # Built-in templates come first, in the order of the seed plans (篇一 … 篇六), then one's own.
    order = [
        page.index(code)
        for code in ("kindergarten-lesson", "university-fraud-free-campus", "bank-publicity-month")
    ]
    assert order == sorted(order) and page.index("uni-own") > order[-1]


def test_detail_shows_goals_obligations_and_plan(client, cast, builtins, django_assert_max_num_queries):
    client.force_login(cast.auditor)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("template_detail", args=["university-fraud-free-campus"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "全校师生对防范电信网络诈骗宣传的知晓率达到100%" in page
    assert "每天不少于1次" in page and "每学期不少于1次" in page
    assert "辅导员与宿舍防范电信网络诈骗责任书" in page
    assert "一、总体思路" in page
    # The file (TOML) is for those who may own templates: a read-only role reads titles, not files.
    assert reverse("template_download", args=["university-fraud-free-campus"]) not in page
    assert reverse("template_edit", args=["university-fraud-free-campus"]) not in page  # read-only role
    assert reverse("template_create") not in page


def test_upload_valid_file(client, cast, builtins):
    client.force_login(cast.school_admin)
    response = client.post(
        reverse("template_create"),
        {"owner": cast.uni.pk, "file": upload("winter.toml", custom()), "text": ""},
    )
    assert response.status_code == 302
    template = CampaignTemplate.objects.get(code="winter-break")
    assert response["Location"] == reverse("template_detail", args=["winter-break"])
    assert (template.source, template.owner_unit, template.created_by) == (
        "custom",
        cast.uni,
        cast.school_admin,
    )
    assert template.title == "寒假防骗专项提醒方案"
    assert template.spec().obligations[0].due == "01-15"


def test_paste_text_as_college_admin(client, cast, builtins):
    client.force_login(cast.college_admin)
    response = client.post(reverse("template_create"), {"owner": cast.cs.pk, "text": custom("cs-winter")})
    assert response.status_code == 302
    assert CampaignTemplate.objects.get(code="cs-winter").owner_unit == cast.cs


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (custom().replace('metric = "parent_notice_signed"', 'metric = "smiles"'), "goals[0].metric"),
        (custom().replace('due = "01-15"', 'due = "01-45"'), "obligations[0].due"),
        (custom().replace('level = "class"', 'level = "spaceship"'), "obligations[0].level"),
        (custom("university-fraud-free-campus"), "code"),  # taken by a built-in template
        ('code = "x\n', "-"),
    ],
)
def test_upload_invalid_file_names_file_and_field(client, cast, builtins, text, field):
    client.force_login(cast.school_admin)
    before = CampaignTemplate.objects.count()
    response = client.post(
        reverse("template_create"), {"owner": cast.uni.pk, "file": upload("bad.toml", text)}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "文件 bad.toml，字段 " + field + "：" in page
    assert CampaignTemplate.objects.count() == before
    if field != "-":
        assert "寒假前每位家长签收防骗提醒" in page  # the text stays in the editor, to be fixed


def test_upload_needs_a_file_or_text_and_utf8(client, cast, builtins):
    client.force_login(cast.school_admin)
    response = client.post(reverse("template_create"), {"owner": cast.uni.pk, "text": "  "})
    assert response.status_code == 200 and "请上传模板文件" in response.content.decode()
    gbk = SimpleUploadedFile("gbk.toml", custom().encode("gbk"))
    response = client.post(reverse("template_create"), {"owner": cast.uni.pk, "file": gbk})
    assert "UTF-8" in response.content.decode()
    assert not CampaignTemplate.objects.filter(source="custom").exists()


def test_owner_must_be_in_the_editing_scope(client, cast, builtins):
    client.force_login(cast.college_admin)
    response = client.post(reverse("template_create"), {"owner": cast.uni.pk, "text": custom()})
    assert response.status_code == 200
    assert not CampaignTemplate.objects.filter(code="winter-break").exists()


@pytest.mark.parametrize("who", ["auditor", "police_liaison", "counsellor", "student", "parent"])
def test_read_only_roles_cannot_upload(client, cast, builtins, who):
    client.force_login(cast.users()[who])
    assert client.get(reverse("template_create")).status_code == 403
    response = client.post(reverse("template_create"), {"owner": cast.uni.pk, "text": custom()})
    assert response.status_code == 403
    assert not CampaignTemplate.objects.filter(code="winter-break").exists()


def test_outsider_cannot_see_another_schools_template(client, cast, uni_template):
    client.force_login(cast.outsider)
    assert "uni-own" not in client.get(reverse("template_list")).content.decode()
    for name in ("template_detail", "template_edit", "template_download", "template_plan"):
        assert client.get(reverse(name, args=["uni-own"])).status_code == 404, name
    response = client.post(reverse("template_edit", args=["uni-own"]), {"text": custom("uni-own")})
    assert response.status_code == 404
    assert client.get(reverse("template_create") + "?from=uni-own").status_code == 404
    # ... while built-in templates are there for everyone.
    assert client.get(reverse("template_detail", args=["school-publicity"])).status_code == 200


def test_edit_own_template(client, cast, uni_template):
    client.force_login(cast.school_admin)
    assert client.get(reverse("template_edit", args=["uni-own"])).status_code == 200
    changed = custom("uni-own").replace("寒假防骗专项提醒方案", "暑假防骗专项提醒方案")
    response = client.post(reverse("template_edit", args=["uni-own"]), {"text": changed})
    assert response.status_code == 302
    uni_template.refresh_from_db()
    assert uni_template.title == "暑假防骗专项提醒方案"

    response = client.post(reverse("template_edit", args=["uni-own"]), {"text": custom("renamed")})
    assert response.status_code == 200
    assert "字段 code：" in response.content.decode()
    assert not CampaignTemplate.objects.filter(code="renamed").exists()


def test_edit_needs_editing_rights_at_the_owner(client, cast, uni_template):
    client.force_login(cast.college_admin)  # sees the university's template, may not change it
    assert client.get(reverse("template_detail", args=["uni-own"])).status_code == 200
    assert client.get(reverse("template_edit", args=["uni-own"])).status_code == 403
    response = client.post(
        reverse("template_edit", args=["uni-own"]), {"text": custom("uni-own") + "\n# x\n"}
    )
    assert response.status_code == 403
    uni_template.refresh_from_db()
    assert "# x" not in uni_template.text
    client.force_login(cast.school_admin)
    assert client.get(reverse("template_edit", args=["school-publicity"])).status_code == 403  # built-in


def test_copy_a_builtin_as_a_start(client, cast, builtins):
    client.force_login(cast.school_admin)
    response = client.get(reverse("template_create") + "?from=school-publicity")
    assert response.status_code == 200
    assert "致学生家长的一封信" in response.content.decode()


def test_download_toml(client, cast, uni_template):
    client.force_login(cast.counsellor)
    response = client.get(reverse("template_download", args=["uni-own"]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert "uni-own.toml" in response["Content-Disposition"]
    assert response.content.decode() == uni_template.text


def test_plan_document_for_a_unit_in_scope(client, cast, builtins):
    client.force_login(cast.college_admin)
    url = reverse("template_plan", args=["university-fraud-free-campus"])
    response = client.get(url, {"unit": cast.cs.pk, "format": "docx"})
    assert response.status_code == 200
    assert response["Content-Type"] == formats.DOCX_TYPE
    assert "attachment" in response["Content-Disposition"]
    doc = Document(io.BytesIO(response.content))
    assert doc.paragraphs[0].text.startswith("计算机学院")
    assert client.get(url, {"unit": cast.uni.pk, "format": "docx"}).status_code == 404  # above the scope
    assert client.get(url, {"unit": cast.oc01.pk, "format": "docx"}).status_code == 404  # another school
    assert client.get(url, {"unit": cast.cs.pk, "format": "odt"}).status_code == 404
    assert client.get(url, {"unit": "x"}).status_code == 404


def test_plan_document_as_pdf(client, cast, builtins):
    try:
        formats.cjk_fonts()
    except formats.CJKFontMissing as exc:
        skip_or_fail(str(exc))
    client.force_login(cast.school_admin)
    response = client.get(
        reverse("template_plan", args=["school-publicity"]), {"unit": cast.uni.pk, "format": "pdf"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_anonymous_is_sent_to_login(client, builtins):
    response = client.get(reverse("template_list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_detail_lists_every_period_a_campaign_would_demand(client, cast, builtins):
    """Before starting, a unit sees each period it will have to fill: a one-off lesson is one period,
    a monthly meeting one per month, and no stub of days at the end."""
    client.force_login(cast.auditor)
    with freeze_time("2026-09-14 09:00:00+08:00"):
        page = client.get(reverse("template_detail", args=["kindergarten-lesson"])).content.decode()
        assert page.count("2026年9月14日至2027年3月13日") == 1 + 3  # the note, three one-off obligations
        assert "共 2 期" not in page
        page = client.get(reverse("template_detail", args=["district-education-system"])).content.decode()
    assert "2026年9月14日至2026年9月30日" in page and "2027年8月1日至2027年9月13日" in page
    assert "2027年9月1日至2027年9月13日" not in page  # a 13-day month merged into August
    assert "共 12 期" in page


def test_a_template_page_shows_no_placeholder_code(client, cast, builtins):
    """The kindergarten plan names "{organisation}", which only a campaign fills: its page shows a line to
    write on and a title without it, never the code."""
    client.force_login(cast.auditor)
    page = client.get(reverse("template_detail", args=["kindergarten-lesson"])).content.decode()
    assert "{organisation}" not in page and "“迷路了怎么办”防骗安全教育活动方案" in page
    listing = client.get(reverse("template_list")).content.decode()
    assert "{organisation}" not in listing


@pytest.mark.parametrize("code", ["district-education-system", "university-fraud-free-campus"])
def test_detail_shows_letters_with_their_placeholders_filled(client, cast, builtins, code):
    """Walk-through at 390 px: the district template's letters read "{organisation}学校反诈工作责任书"."""
    client.force_login(cast.school_admin)
    response = client.get(reverse("template_detail", args=[code]))
    letters = response.context["letters"]
    assert letters
    for x in letters:
        assert "{" not in x["letter"].title and "{" not in x["letter"].body, x["letter"].title
    page = response.content.decode()
    section = page[page.index("责任追究与责任书") : page.index("plan-preview")]
    assert "{organisation}" not in section and "{lower_unit}" not in section and "{upper_unit}" not in section
