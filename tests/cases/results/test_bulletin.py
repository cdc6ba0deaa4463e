"""The bulletin (通报): its DOCX content, the page, the command, and issuing it as the campaign's
periodic-notice activity."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from docx import Document

from fanzha.campaigns import actions as campaigns
from fanzha.campaigns.models import Activity, CampaignTemplate
from fanzha.campaigns.plan_templates.actions import sync_builtin_templates
from fanzha.cases.results import bulletin
from fanzha.cases.stats import results as figures_q
from fanzha.cases.stats.queries import month_period

from .conftest import Police


def _text(data: bytes) -> tuple[str, list[list[str]]]:
    doc = Document(io.BytesIO(data))
    text = "\n".join(p.text for p in doc.paragraphs)
    rows = [[c.text for c in row.cells] for table in doc.tables for row in table.rows]
    return text, rows


def test_the_docx_holds_the_numbers(with_results: Police) -> None:
    p = with_results
    doc = bulletin.build(figures_q.sources_for(p.admin), p.bureau, month_period(2025, 3))
    text, rows = _text(bulletin.write_docx(doc))
    assert "青山县公安局关于2025年3月电信网络诈骗案件情况的通报" in text
    assert "一、案件总体情况" in text and "五、工作要求" in text
    # 3 cases in March 2025 against 1 in March 2024 (+200%), none in February 2025; loss 3 × 1700.
    assert "共接报电信网络诈骗案件3起，同比上升200.0%（上年同期1起），环比无可比数据（上一期0起）" in text
    assert "群众损失5,100.00元" in text
    assert "破获案件2起" in text and "破案率66.7%" in text and "抓获犯罪嫌疑人3名（同比上升50.0%）" in text
    assert "打掉诈骗团伙1个，抓获团伙成员4名" in text and "追赃挽损500.00元" in text
    assert "发出止付冻结及停机请求0条" in text
    assert rows[0][:3] == ["排名", "单位", "接报案件"]
    assert rows[1] == ["1", "城关派出所", "2", "3,400.00", "2", "100.0%", "3", "500.00"]
    assert rows[2] == ["2", "东关派出所", "1", "1,700.00", "0", "0.0%", "0", "0.00"]
    # Nothing of the other county, ever.
    assert "远山" not in text


def test_a_quarter_compares_with_the_previous_quarter(with_results: Police) -> None:
    p = with_results
    doc = bulletin.build(figures_q.sources_for(p.admin), p.bureau, figures_q.quarter_period(2025, 1))
    text, _rows = _text(bulletin.write_docx(doc))
    assert "2025年第1季度" in text and "环比无可比数据（上一期0起）" in text


def test_the_command_writes_the_docx(with_results: Police, tmp_path) -> None:
    p = with_results
    out = tmp_path / "b.docx"
    call_command("bulletin", str(p.bureau.pk), "--month", "2025-03", "-o", str(out))
    text, rows = _text(out.read_bytes())
    assert "共接报电信网络诈骗案件3起" in text and rows[1][1] == "城关派出所"
    call_command("bulletin", str(p.bureau.pk), "--quarter", "2025-Q1", "-o", str(out))
    assert "2025年第1季度" in _text(out.read_bytes())[0]
    with pytest.raises(CommandError):
        call_command("bulletin", str(p.bureau.pk), "--month", "2025-13", "-o", str(out))
    with pytest.raises(CommandError):
        call_command("bulletin", "999999", "--year", "2025", "-o", str(out))


def test_the_page_and_its_docx(client, with_results: Police) -> None:
    p = with_results
    client.force_login(p.admin)
    page = client.get(reverse("bulletin"), {"unit": p.bureau.pk, "month": "2025-03"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "一、案件总体情况" in html and "66.7%" in html and "签发通报" in html
    docx = client.get(reverse("bulletin_docx"), {"unit": p.bureau.pk, "month": "2025-03"})
    assert "破获案件2起" in _text(docx.content)[0]
    client.force_login(p.officer_a)
    assert client.get(reverse("bulletin"), {"unit": p.bureau.pk, "month": "2025-03"}).status_code == 404
    assert client.get(reverse("bulletin_docx"), {"unit": p.b.pk, "month": "2025-03"}).status_code == 404


def test_issuing_meets_the_periodic_notice_obligation(client, with_results: Police) -> None:
    p = with_results
    sync_builtin_templates()
    template = CampaignTemplate.objects.get(code="county-police-special-action")
    campaign = campaigns.start_campaign(
        template, p.bureau, timezone.localdate() - timedelta(days=30), None, {}
    )
    client.force_login(p.admin)
    params = {"unit": p.bureau.pk, "month": "2025-03"}
    response = client.post(reverse("bulletin_issue"), params)
    assert response.status_code == 302
    activity = Activity.objects.get(unit=p.bureau, kind="notice")
    assert activity.obligation is not None and activity.obligation.rule.code == "periodic-notice"
    assert activity.campaign == campaign and activity.occurred_on == timezone.localdate()
    evidence = activity.evidence.get()
    assert evidence.kind == "document"
    with evidence.file.open("rb") as handle:
        assert "破获案件2起" in _text(handle.read())[0]
    # The same period twice (even from an English page): refused, nothing more recorded.
    client.cookies["django_language"] = "en"
    client.post(reverse("bulletin_issue"), params)
    del client.cookies["django_language"]
    assert Activity.objects.filter(unit=p.bureau, kind="notice").count() == 1
    # The page says when it was issued instead of offering to issue it again.
    page = client.get(reverse("bulletin"), params).content.decode()
    assert f"已于{timezone.localdate():%Y-%m-%d}签发" in page and "签发通报</button>" not in page
    # Not the police of the unit: 403, nothing recorded.
    client.force_login(p.officer_a)
    assert client.post(reverse("bulletin_issue"), {"unit": p.a.pk, "month": "2025-02"}).status_code == 302
    assert (
        client.post(reverse("bulletin_issue"), {"unit": p.bureau.pk, "month": "2025-02"}).status_code == 404
    )
    assert Activity.objects.filter(kind="notice").count() == 2
    assert Activity.objects.get(unit=p.a).obligation is None  # a station has no such obligation


def test_without_a_period_the_page_shows_the_last_whole_month(client, with_results: Police) -> None:
    """Opened bare (a bookmark, the menu), the page is last month's bulletin of the user's unit, not a 404."""
    client.force_login(with_results.admin)
    page = client.get(reverse("bulletin"))
    assert page.status_code == 200
    last = timezone.localdate().replace(day=1) - timedelta(days=1)
    assert f"{last.year}年{last.month}月" in page.content.decode()
    assert client.get(reverse("bulletin"), {"month": "2025-13"}).status_code == 404
