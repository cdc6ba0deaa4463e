"""The accounts list: accounts in scope with roles, last sign-in and state; filters, pages, XLSX."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from fanzha.core.models import AuditRecord
from fanzha.org import actions as org_actions
from fanzha.org.accounts import actions, views
from fanzha.org.models import User

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [u.first_name for u in response.context["paged"].page.object_list]


def test_the_list_shows_accounts_in_scope_with_roles_and_last_sign_in(client, cast, teacher):
    actions.open_account(cast.school_admin, teacher)
    User.objects.filter(pk=cast.counsellor.pk).update(last_login=timezone.now() - timedelta(days=1))
    client.force_login(cast.college_admin)
    response = client.get(reverse("account_list"))
    assert response.status_code == 200
    listed = names(response)
    assert "林老师" in listed and "辅导员甲" in listed and "张三" in listed  # placed or granted in CS
    assert "数学学院" not in response.content.decode()
    assert "外校管理员" not in listed and "王五" not in listed
    body = response.content.decode()
    assert "辅导员 · 计科2301班" in body and "邀请未接受" in body and "从未登录" in body


def test_filters(client, cast, teacher):
    actions.open_account(cast.school_admin, teacher)
    actions.deactivate(cast.school_admin, cast.counsellor)
    client.force_login(cast.school_admin)
    assert names(client.get(reverse("account_list"), {"pending": "on"})) == ["林老师"]
    assert names(client.get(reverse("account_list"), {"active": "0"})) == ["辅导员甲"]
    assert names(client.get(reverse("account_list"), {"role": "auditor"})) == ["审计员"]
    assert set(names(client.get(reverse("account_list"), {"q": "T000"}))) == {
        "校管理员",
        "院管理员",
        "辅导员甲",
    }
    assert set(names(client.get(reverse("account_list"), {"unit": cast.cs2301.pk}))) == {"张三", "辅导员甲"}
    assert names(client.get(reverse("account_list"), {"unit": cast.ma.pk})) == []
    assert client.get(reverse("account_list"), {"unit": cast.oc01.pk}).status_code == 404


def test_pages_of_fifty(client, cast, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    client.force_login(cast.school_admin)
    first = client.get(reverse("account_list"))
    assert len(names(first)) == 2 and first.context["paged"].next_url


def test_the_export_is_the_filtered_list_and_is_audited(client, cast, teacher):
    actions.open_account(cast.school_admin, teacher)
    client.force_login(cast.school_admin)
    response = client.get(reverse("account_export"), {"pending": "on"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "姓名" and [r[0] for r in rows[1:]] == ["林老师"]
    assert rows[1][1] == "T0100" and rows[1][5] == "是"
    assert AuditRecord.objects.filter(action=AuditRecord.Action.EXPORT, actor=cast.school_admin).exists()


def test_a_name_that_starts_like_a_formula_stays_text(client, cast):
    person = org_actions.enrol_person(unit=cast.cs, name="=HYPERLINK(1)", kind="staff", phone="13700137009")
    actions.open_account(cast.school_admin, person)
    client.force_login(cast.school_admin)
    response = client.get(reverse("account_export"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    cell = next(c for row in sheet.iter_rows() for c in row if c.value == "=HYPERLINK(1)")
    assert cell.data_type == "s"
