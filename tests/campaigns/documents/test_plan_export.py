"""A running campaign's plan document as DOCX and PDF: its own text, a Chinese file name, and the
campaign's scope (404 for whoever cannot see the campaign, as for one that does not exist)."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from django.urls import reverse
from docx import Document

from fanzha.campaigns import actions
from fanzha.campaigns.documents import formats
from fanzha.campaigns.models import Campaign
from tests.campaigns.engine import make_template, start
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.django_db

SEES_UNI = {"school_admin", "college_admin", "counsellor", "police_liaison", "auditor"}


@pytest.fixture
def campaign(cast) -> Campaign:
    return start(cast.uni, make_template())


def plan_url(campaign: Campaign, fmt: str) -> str:
    return reverse("campaign_plan", args=[campaign.pk, fmt])


def test_docx_for_each_cast_member(client, cast, campaign):
    for who, user in cast.users().items():
        client.force_login(user)
        response = client.get(plan_url(campaign, "docx"))
        assert response.status_code == (200 if who in SEES_UNI else 404), who
    client.force_login(cast.outsider)
    response = client.get(plan_url(campaign, "docx"))
    assert campaign.title.encode() not in response.content  # nothing about the campaign leaks


def test_docx_holds_the_campaigns_own_text_and_a_chinese_file_name(client, cast, campaign):
    edited = [{"heading": "总则", "body": "本方案只属于这次行动。", "children": []}]
    actions.edit_sections(campaign, edited)
    client.force_login(cast.auditor)
    response = client.get(plan_url(campaign, "docx"))
    assert response["Content-Type"] == formats.DOCX_TYPE
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert f"filename*=utf-8''{quote(campaign.title + '.docx')}" in disposition  # RFC 5987
    text = "\n".join(p.text for p in Document(io.BytesIO(response.content)).paragraphs)
    assert campaign.title in text
    assert "本方案只属于这次行动。" in text


def test_pdf(client, cast, campaign):
    try:
        formats.cjk_fonts()
    except formats.CJKFontMissing as exc:
        skip_or_fail(str(exc))
    client.force_login(cast.counsellor)
    response = client.get(plan_url(campaign, "pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == formats.PDF_TYPE
    assert response.content.startswith(b"%PDF")
    assert f"filename*=utf-8''{quote(campaign.title + '.pdf')}" in response["Content-Disposition"]
    client.force_login(cast.outsider)
    assert client.get(plan_url(campaign, "pdf")).status_code == 404


def test_unknown_format_missing_campaign_and_login(client, cast, campaign):
    client.force_login(cast.school_admin)
    assert client.get(plan_url(campaign, "odt")).status_code == 404
    assert client.get(reverse("campaign_plan", args=[campaign.pk + 1000, "docx"])).status_code == 404
    assert client.post(plan_url(campaign, "docx")).status_code == 405
    client.logout()
    response = client.get(plan_url(campaign, "docx"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_detail_page_links_the_downloads_and_the_letters(client, cast, campaign):
    client.force_login(cast.police_liaison)
    body = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert plan_url(campaign, "docx") in body
    assert plan_url(campaign, "pdf") in body
    assert reverse("letter_status", args=[campaign.pk]) in body
