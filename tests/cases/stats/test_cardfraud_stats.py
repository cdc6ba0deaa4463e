"""Card fraud in the statistics (issue 13 item 9): the students involved with cards are counted by
handling and by unit in the statistics XLSX and in the API's /api/v1/stats/, in the user's case scope
and the period asked for, and neither ever carries a student's name."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from fanzha.cases.cardfraud import actions
from tests.api.conftest import API, client_for

pytestmark = pytest.mark.django_db
SHEET = "涉“两卡”学生"


@pytest.fixture
def records(cast):
    """张三 (CS2301, pending), 数学甲 (MA2301, handed to the police after a talk), and an old one of
    张三 from last year that this year's figures leave out."""
    today = timezone.localdate()
    common = {"card_kind": "bank", "involvement": "sell", "actor": cast.school_admin}
    actions.record(unit=cast.cs2301, student=cast.student, found_on=today, **common)
    actions.record(
        unit=cast.ma2301,
        student=cast.math_student,
        found_on=today,
        handling="police",
        education="保卫处谈话，“两卡”法治教育",
        educated_on=today,
        **common,
    )
    actions.record(unit=cast.cs2301, student=cast.student, found_on=date(today.year - 1, 6, 1), **common)


def workbook(client, unit, year):
    response = client.get(reverse("case_stats_export"), {"unit": unit.pk, "year": year})
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content))


def cells(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_statistics_workbook_counts_cards_by_handling_and_unit(client, cast, records):
    client.force_login(cast.school_admin)
    book = workbook(client, cast.uni, timezone.localdate().year)
    rows = cells(book[SHEET])
    by_label = {r[0]: r[1] for r in rows if r and r[0]}
    assert by_label["登记记录"] == 2 and by_label["涉及学生"] == 2 and by_label["已教育"] == 1
    assert by_label["待处理"] == 1 and by_label["移交公安机关"] == 1 and by_label["警告处分"] == 0
    header = next(r for r in rows if r[0] == "单位")
    units = {r[1]: dict(zip(header, r, strict=True)) for r in rows[rows.index(header) + 1 :] if r[1]}
    assert units["CS"]["登记记录"] == 1 and units["CS"]["待处理"] == 1
    assert units["MA"]["移交公安机关"] == 1 and units["MA"]["已教育"] == 1
    everything = json.dumps([cells(book[name]) for name in book.sheetnames], ensure_ascii=False, default=str)
    for name in (cast.student.name, cast.math_student.name, "张*"):
        assert name not in everything


def test_the_workbook_is_scoped_like_the_page(client, cast, records):
    client.force_login(cast.college_admin)  # 计算机学院 only
    book = workbook(client, cast.cs, timezone.localdate().year)
    by_label = {r[0]: r[1] for r in cells(book[SHEET]) if r and r[0]}
    assert by_label["登记记录"] == 1 and by_label["移交公安机关"] == 0
    assert client.get(reverse("case_stats_export"), {"unit": cast.ma.pk}).status_code == 404
    book = workbook(client, cast.cs, timezone.localdate().year - 1)
    assert {r[0]: r[1] for r in cells(book[SHEET]) if r and r[0]}["登记记录"] == 1


def test_the_api_stats_carry_the_card_figures_without_names(cast, records):
    response = client_for(cast.school_admin).get(f"{API}/stats/", {"unit": cast.uni.pk})
    assert response.status_code == 200
    body = response.json()
    cards = body["card_fraud"]
    assert cards["totals"]["total"] == 2 and cards["totals"]["students"] == 2
    handling = {h["code"]: h["count"] for h in cards["by_handling"]}
    assert handling["pending"] == 1 and handling["police"] == 1 and handling["warned"] == 0
    units = {u["code"]: u for u in cards["by_unit"]}
    assert (
        units["CS"]["total"] == 1 and units["MA"]["handling"]["police"] == 1 and units["MA"]["educated"] == 1
    )
    assert body["unit"]["code"] == "UNI" and body["cases"]["count"] == 0
    text = response.content.decode()
    assert cast.student.name not in text and cast.math_student.name not in text
    last_year = client_for(cast.school_admin).get(f"{API}/stats/", {"year": timezone.localdate().year - 1})
    assert last_year.json()["card_fraud"]["totals"]["total"] == 1


def test_the_api_stats_are_scoped(cast, records):
    college = client_for(cast.college_admin)
    body = college.get(f"{API}/stats/").json()
    assert body["unit"]["code"] == "CS" and body["card_fraud"]["totals"]["total"] == 1
    assert college.get(f"{API}/stats/", {"unit": cast.ma.pk}).status_code == 404
    assert college.get(f"{API}/stats/", {"unit": "x"}).status_code == 404
    assert client_for(cast.outsider).get(f"{API}/stats/", {"unit": cast.uni.pk}).status_code == 404
    assert client_for(None).get(f"{API}/stats/").status_code in (401, 403)
