"""The roster's "开通账号" column: staff rows marked 是 get an account and an invitation once the
import has committed; students and parents never; the dry run counts them."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from fanzha.org import actions
from fanzha.org.models import AccountToken, Person, User
from fanzha.org.roster import columns
from fanzha.org.roster import export as roster_export

from .files import lines, run, student, xlsx

pytestmark = pytest.mark.django_db


def teacher(number: str, name: str, account: str | None = "是", phone: str | None = "13700137100") -> dict:
    return {
        "name": name,
        "kind": "教师",
        "number": number,
        "college": "CS",
        "phone": phone,
        "account": account,
    }


def test_the_column_is_in_the_template():
    assert columns.COLUMN_BY_KEY["account"].header == "开通账号"


def test_marked_staff_get_an_account_and_an_invitation_after_the_commit(cast, settings):
    settings.FANZHA_SITE_URL = "https://fanzha.example.edu.cn"
    data = xlsx(
        [
            teacher("T0500", "周老师"),
            teacher("T0501", "吴老师", account="否", phone="13700137101"),
            teacher("T0502", "郑老师", account=None, phone="13700137102"),
            teacher("T0503", "冯老师", phone=None),
        ]
    )
    dry = run(data, cast.uni, dry_run=True)
    assert dry.ok, lines(dry)
    assert dry.summary["accounts_requested"] == 2
    assert not User.objects.filter(person__external_number__startswith="T05").exists()

    result = run(data, cast.uni, actor=cast.school_admin)
    assert result.ok, lines(result)
    assert result.summary["accounts_created"] == 1 and result.summary["accounts_unreachable"] == 1
    zhou = Person.objects.get(external_number="T0500")
    assert zhou.user is not None and not zhou.user.has_usable_password()
    assert AccountToken.objects.filter(user=zhou.user, purpose="invite").exists()
    for number in ("T0501", "T0502", "T0503"):
        assert Person.objects.get(external_number=number).user_id is None


def test_without_an_importing_account_no_account_is_opened(cast):
    result = run(xlsx([teacher("T0600", "陈老师")]), cast.uni)
    assert result.ok and result.summary["accounts_refused"] == 1
    assert Person.objects.get(external_number="T0600").user_id is None


def test_a_re_import_of_people_who_have_one_changes_nothing(cast):
    person = actions.enrol_person(unit=cast.cs, name="周老师", kind="teacher", external_number="T0500")
    actions.create_account(person, "Some-pass-2026!")
    result = run(xlsx([teacher("T0500", "周老师", phone=None)]), cast.uni, actor=cast.school_admin)
    assert result.ok and result.summary["accounts_requested"] == 0
    assert "accounts_created" not in result.summary
    assert User.objects.filter(person=person).count() == 1


def test_students_and_odd_values_are_problems(cast):
    result = run(
        xlsx([student("2023900", account="是"), teacher("T0700", "钱老师", account="也许")]),
        cast.uni,
        actor=cast.school_admin,
    )
    text = "\n".join(lines(result))
    assert "不开通员工账号" in text and "只能填“是”或“否”" in text
    assert not Person.objects.filter(external_number__in=["2023900", "T0700"]).exists()


def test_the_export_marks_staff_who_have_an_account(cast):
    person = actions.enrol_person(unit=cast.cs, name="周老师", kind="teacher", external_number="T0500")
    actions.create_account(person, "Some-pass-2026!")
    out = io.BytesIO()
    roster_export.export_roster(cast.uni, out)
    rows = {r[2]: r for r in load_workbook(out)["花名册"].iter_rows(min_row=2, values_only=True)}
    assert rows["T0500"][-1] == "是"
    assert rows["2023001"][-1] is None  # the student has an account, but not a staff one
