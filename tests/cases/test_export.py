"""The case ledger export: masked by default (every cell of every sheet scanned), revealed only for
roles with ``case_reveal`` at the unit, audited every time; the page's buttons and the
``export-cases`` command with good and bad arguments."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from fanzha.cases import actions
from fanzha.core.models import AuditRecord
from fanzha.org import actions as org_actions
from tests.cases.conftest import GOOD_CARD, intake

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
ID_NUMBER = "11010519491231002X"
FAMILY = "单亲家庭，母亲务农"
FUNDS_NOTE = "本月生活费"
VICTIM_CARD = "4111111111111111"  # the victim's own card (indicator and first transfer's source)
SECRETS = (PHONE, ID_NUMBER, FAMILY, FUNDS_NOTE, "母亲务农", VICTIM_CARD, "居民甲", "生活费")


@pytest.fixture
def ledger(cast):
    """A resident's case at CS2301 with every sensitive field, and a plain one at MA2301."""
    now = timezone.now()
    cs = actions.report_case(
        intake(cast.cs2301, now=now, victim_phone=PHONE, victim_id_number=ID_NUMBER),
        cast.counsellor,
        now=now,
    )
    ma = actions.report_case(
        intake(cast.ma2301, now=now - timedelta(days=3), victim_name="居民乙", family="", fund_sources=[]),
        cast.school_admin,
        now=now - timedelta(days=3),
    )
    return {"cs": cs, "ma": ma}


def cells(data: bytes) -> list[str]:
    book = load_workbook(io.BytesIO(data))
    return [
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    ]


def leaks(data: bytes) -> list[str]:
    text = "\n".join(cells(data))
    return [secret for secret in SECRETS if secret in text]


def audits():
    return list(AuditRecord.objects.filter(object_type="cases").order_by("pk").values_list("actor", "detail"))


# The verb --------------------------------------------------------------------------------------------


def test_masked_by_default(cast, ledger):
    data = actions.export_ledger(cast.auditor, cast.uni)
    assert leaks(data) == []
    text = cells(data)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["案件台账", "转账记录"]
    sheet = book["案件台账"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["案件编号", "所属单位", "单位代码"]
    rows = {
        row[0]: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert set(rows) == {ledger["cs"].number, ledger["ma"].number}
    cs = rows[ledger["cs"].number]
    assert cs["所属单位"] == "示范大学 / 计算机学院 / 计科2301班"
    assert cs["受害人"] == "居**"
    assert cs["受害人电话"] == "138****8000"
    assert cs["受害人身份证号"].endswith("002X") and "*" in cs["受害人身份证号"]
    assert cs["家庭情况"] is None and cs["资金来源"] is None
    assert cs["受害人付款账户"] == "****1111"
    assert cs["诈骗类型"] == "刷单返利类" and cs["接触方式"] == "QQ"
    assert (
        float(cs["损失金额（元）"]) == 1700.0
        and cs["转账笔数"] == 2
        and float(cs["转账合计（元）"]) == 1700.0
    )
    assert cs["嫌疑电话"] == "17123456789"
    assert cs["嫌疑账户"] == GOOD_CARD
    assert cs["涉案网址"] == "http://shua.example.com/task"
    assert cs["报告至预警（分钟）"] == 10.0  # reported ten minutes before the alert went out
    local = timezone.localtime(ledger["cs"].reported_at).replace(tzinfo=None)
    assert abs(cs["报案时间"] - local) < timedelta(seconds=1)  # local wall-clock time
    assert len(list(book["转账记录"].iter_rows(min_row=2))) == 4
    assert "pay@example.com" in text  # the suspect's receiving account is evidence, kept plain
    assert audits() == [(cast.auditor.pk, "unit=UNI;count=2")]
    record = AuditRecord.objects.get(object_type="cases")
    assert record.action == AuditRecord.Action.EXPORT and record.object_id == str(cast.uni.pk)


@pytest.mark.parametrize("who, unit, count", [("police_liaison", "uni", 2), ("counsellor", "cs2301", 1)])
def test_reveal_by_roles_that_may(cast, ledger, who, unit, count):
    user = getattr(cast, who)
    data = actions.export_ledger(user, getattr(cast, unit), reveal=True)
    assert set(leaks(data)) >= {PHONE, ID_NUMBER, FAMILY, FUNDS_NOTE, VICTIM_CARD, "居民甲"}
    code = getattr(cast, unit).code
    assert audits() == [(user.pk, f"unit={code};count={count};reveal")]


@pytest.mark.parametrize("who, unit", [("auditor", "uni"), ("college_admin", "cs"), ("school_admin", "uni")])
def test_reveal_refused(cast, ledger, who, unit):
    with pytest.raises(PermissionDenied):
        actions.export_ledger(getattr(cast, who), getattr(cast, unit), reveal=True)
    assert audits() == []


def test_scope_of_the_export(cast, ledger):
    data = actions.export_ledger(cast.college_admin, cast.cs)
    assert ledger["cs"].number in cells(data) and ledger["ma"].number not in cells(data)
    for user, unit in (
        (cast.outsider, cast.uni),
        (cast.college_admin, cast.uni),
        (cast.counsellor, cast.uni),
        (cast.student_user, cast.cs2301),
    ):
        with pytest.raises(PermissionDenied):
            actions.export_ledger(user, unit)
    assert audits() == [(cast.college_admin.pk, "unit=CS;count=1")]


def test_counsellor_reveal_stays_in_the_class(cast, ledger):
    with pytest.raises(PermissionDenied):
        actions.export_ledger(cast.counsellor, cast.cs, reveal=True)


# The page --------------------------------------------------------------------------------------------


def test_page_get_is_masked_and_post_reveals(client, cast, ledger):
    url = reverse("case_export") + f"?unit={cast.uni.pk}"
    client.force_login(cast.auditor)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert leaks(response.content) == []
    assert client.post(url, {"reveal": "1"}).status_code == 403
    client.force_login(cast.police_liaison)
    revealed = client.post(url, {"reveal": "1"})
    assert revealed.status_code == 200 and PHONE in "\n".join(cells(revealed.content))
    assert [d for _a, d in audits()] == ["unit=UNI;count=2", "unit=UNI;count=2;reveal"]
    stats_page = client.get(reverse("case_stats"), {"unit": cast.uni.pk})
    assert 'name="reveal"' in stats_page.content.decode()
    client.force_login(cast.auditor)
    assert 'name="reveal"' not in client.get(reverse("case_stats"), {"unit": cast.uni.pk}).content.decode()


def test_page_out_of_scope_is_missing(client, cast, ledger):
    url = reverse("case_export") + f"?unit={cast.uni.pk}"
    for user in (cast.outsider, cast.student_user, cast.college_admin):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"reveal": "1"}).status_code == 404
    assert audits() == []


def test_page_post_needs_csrf(cast, ledger):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(cast.police_liaison)
    url = reverse("case_export") + f"?unit={cast.uni.pk}"
    assert csrf_client.post(url, {"reveal": "1"}).status_code == 403
    assert audits() == []


# The command -----------------------------------------------------------------------------------------


def test_command_masked_and_revealed(cast, ledger, tmp_path: Path):
    out = tmp_path / "cases.xlsx"
    call_command("export-cases", "--unit", "UNI", "-o", str(out), "--user", cast.auditor.username)
    assert leaks(out.read_bytes()) == [] and ledger["cs"].number in cells(out.read_bytes())
    call_command(
        "export-cases",
        "--unit",
        "UNI/CS/CS2301",
        "-o",
        str(out),
        "--user",
        cast.counsellor.username,
        "--reveal",
    )
    assert PHONE in cells(out.read_bytes())
    assert audits() == [
        (cast.auditor.pk, "unit=UNI;count=2"),
        (cast.counsellor.pk, "unit=CS2301;count=1;reveal"),
    ]


def test_command_bad_arguments(cast, ledger, tmp_path: Path):
    out = tmp_path / "cases.xlsx"

    def fails(*args: str) -> str:
        with pytest.raises(CommandError) as info:
            call_command("export-cases", *args)
        assert info.value.returncode == 2, args
        return str(info.value)

    assert "--user" in fails("--unit", "UNI", "-o", str(out))
    assert "nobody" in fails("--unit", "UNI", "-o", str(out), "--user", "nobody")
    assert "NOPE" in fails("--unit", "NOPE", "-o", str(out), "--user", cast.auditor.username)
    assert ".xlsx" in fails(
        "--unit", "UNI", "-o", str(tmp_path / "cases.csv"), "--user", cast.auditor.username
    )
    fails("--unit", "UNI", "-o", str(tmp_path / "missing" / "x.xlsx"), "--user", cast.auditor.username)
    fails("--unit", "UNI", "-o", str(out), "--user", cast.auditor.username, "--reveal")
    fails("--unit", "OTH", "-o", str(out), "--user", cast.auditor.username)
    # a code found at two places asks for the path
    org_actions.create_unit(parent=cast.other, name="另一个计算机学院", code="CS", kind="college")
    assert "上级代码/代码" in fails("--unit", "CS", "-o", str(out), "--user", cast.college_admin.username)
    assert not out.exists()
    assert audits() == []
    call_command("export-cases", "--unit", "UNI/CS", "-o", str(out), "--user", cast.college_admin.username)
    assert out.exists() and audits() == [(cast.college_admin.pk, "unit=CS;count=1")]


def test_export_from_the_statistics_page_keeps_its_period(client, cast):
    now = timezone.now()
    this_year = actions.report_case(intake(cast.cs2301, now=now), cast.counsellor, now=now)
    last = now - timedelta(days=400)
    actions.report_case(intake(cast.cs2301, now=last, victim_name="居民丙"), cast.counsellor, now=last)
    client.force_login(cast.school_admin)
    year = timezone.localdate(now).year
    response = client.get(reverse("case_export"), {"unit": cast.uni.pk, "year": year})
    numbers = [c for c in cells(response.content) if c.startswith("AJ")]
    assert set(numbers) == {this_year.number}
    assert audits()[-1][1].startswith(f"unit=UNI;count=1;from={year}-01-01;to={year + 1}-01-01")
    whole = client.get(reverse("case_export"), {"unit": cast.uni.pk})
    assert len({c for c in cells(whole.content) if c.startswith("AJ")}) == 2
