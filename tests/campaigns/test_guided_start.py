"""Issue 15 item 2: starting a campaign needs no expert. The unit is picked from a search of the user's
CAMPAIGN scope (name, pinyin initials, code), the plan's fields carry Chinese names, the preview shows
the filled plan (never a raw ``{placeholder}`` nor "（无标题）"), and templates read by Chinese title."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from fanzha.campaigns.models import Campaign, CampaignTemplate
from fanzha.campaigns.plan_templates.actions import sync_builtin_templates

pytestmark = pytest.mark.django_db

RAW = re.compile(r"\{[a-z_][a-z0-9_]*\}")


@pytest.fixture
def university() -> CampaignTemplate:
    sync_builtin_templates()
    return CampaignTemplate.objects.get(code="university-fraud-free-campus")


def page(client, user, url, data=None):
    client.force_login(user)
    return client.post(url, data) if data is not None else client.get(url)


def listed(response) -> list[str]:
    return [row["unit"].code for row in response.context["unit_choices"]]


def find(client, user, template, q: str):
    data = {"q": q, "find": "1", "starts_on": "2026-03-01"}
    return page(client, user, reverse("campaign_start", args=[template.pk]), data)


def test_the_picker_finds_a_unit_by_name_initials_and_code_within_the_scope(client, cast, university):
    for q in ("计算机", "jsjxy", "CS"):
        response = find(client, cast.school_admin, university, q)
        assert response.status_code == 200 and "CS" in listed(response), q
        assert "示范大学 › 计算机学院" in response.content.decode()
    # 其他学院 (qtxy, OC) lies outside the school admin's scope: never listed, whatever the search.
    for q in ("其他", "qtxy", "OC"):
        assert "OC" not in listed(find(client, cast.school_admin, university, q)), q
    # The college admin's scope is the college: the university itself is not offered.
    assert "UNI" not in listed(find(client, cast.college_admin, university, "示范"))


def test_a_forged_unit_outside_the_scope_is_refused_and_nothing_is_created(client, cast, university):
    url = reverse("campaign_start", args=[university.pk])
    response = page(client, cast.school_admin, url, {"unit": str(cast.oc01.pk), "starts_on": "2026-03-01"})
    assert response.status_code == 400 and "unit" in response.context["form"].errors
    assert cast.oc01.pk not in [row["unit"].pk for row in response.context["unit_choices"]]
    response = page(client, cast.college_admin, url, {"unit": str(cast.uni.pk), "starts_on": "2026-03-01"})
    assert response.status_code == 400 and "unit" in response.context["form"].errors
    assert not Campaign.objects.exists()


def test_the_start_page_and_preview_show_no_placeholders_nor_an_untitled_section(client, cast, university):
    url = reverse("campaign_start", args=[university.pk])
    for response in (
        page(client, cast.college_admin, url),  # no unit chosen yet
        page(
            client,
            cast.school_admin,
            url,
            {"unit": str(cast.uni.pk), "starts_on": "2026-03-01", "preview": "1"},
        ),
    ):
        body = response.content.decode()
        assert not RAW.search(body), RAW.search(body)
        assert "（无标题）" not in body
    text = strip_tags(body)
    assert "示范大学" in text and "＿＿＿＿（" in text  # the unit filled in; a blank field by its name
    assert "开头语" in text and "【" in body  # the heading-less section is the preamble


def test_a_full_start_through_the_steps_creates_the_campaign_with_the_fields_given(client, cast, university):
    chooser = page(client, cast.school_admin, reverse("campaign_start_choose"))
    assert university in [row["template"] for row in chooser.context["rows"]]
    assert "university-fraud-free-campus" not in strip_tags(chooser.content.decode())
    url = reverse("campaign_start", args=[university.pk])
    found = find(client, cast.school_admin, university, "sfdx")
    assert listed(found)[0] == "UNI"
    form = found.context["form"]
    data = {
        "unit": str(cast.uni.pk),
        "starts_on": "2026-03-01",
        "ph_police_authority": "青山市公安局",
        "ph_contact_phone": "0571-12345678",
        **{name: form.fields[name].initial for name in form.fields if name.startswith("sec_")},
    }
    preview = page(client, cast.school_admin, url, {**data, "preview": "1"})
    assert "青山市公安局" in strip_tags(preview.content.decode()) and not Campaign.objects.exists()
    response = page(client, cast.school_admin, url, data)
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.unit == cast.uni and campaign.placeholders["police_authority"] == "青山市公安局"
    text = str(campaign.sections)
    assert "青山市公安局" in text and "【" not in text and not RAW.search(text)


def test_bad_input_keeps_the_entered_values(client, cast, university):
    url = reverse("campaign_start", args=[university.pk])
    data = {
        "unit": str(cast.cs.pk),
        "starts_on": "2026-03-01",
        "ends_on": "2026-01-01",
        "ph_police_authority": "青山市公安局",
        "q": "jsjxy",
    }
    response = page(client, cast.school_admin, url, data)
    assert response.status_code == 400 and not Campaign.objects.exists()
    body = response.content.decode()
    assert 'value="青山市公安局"' in body and 'value="jsjxy"' in body
    assert re.search(rf'value="{cast.cs.pk}"\s+checked', body)
    missing = page(client, cast.school_admin, url, {"starts_on": "2026-03-01", "ph_police_authority": "X"})
    assert "请选择发起单位" in missing.content.decode() and 'value="X"' in missing.content.decode()


def test_templates_read_by_chinese_title_without_codes_or_toml_for_a_non_admin(client, cast, university):
    for url in (reverse("template_list"), reverse("template_detail", args=[university.code])):
        body = strip_tags(page(client, cast.counsellor, url).content.decode())
        assert "TOML" not in body and "university-fraud-free-campus" not in body, url
        assert "高级" not in body
    listing = strip_tags(page(client, cast.counsellor, reverse("template_list")).content.decode())
    assert university.spec().summary[:20] in listing
    admin = page(client, cast.school_admin, reverse("template_detail", args=[university.code]))
    assert "高级" in strip_tags(admin.content.decode()) and "TOML" in admin.content.decode()


def test_the_start_page_in_english_and_a_plain_get_search(client, cast, university):
    client.force_login(cast.school_admin)
    url = reverse("campaign_start", args=[university.pk])
    response = client.get(url, {"q": "jsjxy"}, HTTP_ACCEPT_LANGUAGE="en")
    body = strip_tags(response.content.decode())
    rows = response.context["unit_choices"]
    # Found: 计算机学院; the scope's only top unit stays listed as the one offered (checked).
    assert response.status_code == 200 and [(r["unit"].code, r["checked"]) for r in rows] == [
        ("UNI", True),
        ("CS", False),
    ]
    for words in (
        "Step 2: choose the unit",
        "Find a unit",
        "Step 3: fill in the plan",
        "Step 4: preview the plan",
    ):
        assert words in body, words
    assert "第二步" not in body and "查找单位" not in body
