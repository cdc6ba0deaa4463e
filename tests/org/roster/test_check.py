"""Checking a roster's rows: every problem listed with its row, column and message."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from fanzha.org.models import Guardianship
from fanzha.org.roster import columns

from .files import (
    ID_A,
    ID_B,
    bad_checksum,
    lines,
    run,
    snapshot,
    student,
    xlsx,
)

pytestmark = pytest.mark.django_db


def test_every_problem_is_listed_with_row_column_and_message(cast):
    rows = [
        {"kind": "学生", "number": "2023020"},  # 2: no name
        student("2023021", kind="外星人"),  # 3: unknown kind
        student("2023022", **{"class": "XX99"}),  # 4: unknown class
        student("2023023"),  # 5
        student("2023023", name="重号"),  # 6: duplicate number
        student("2023024", phone="12345"),  # 7: invalid phone
        student("2023025", id_number=bad_checksum(ID_A)),  # 8: bad ID checksum
        {"guardian_name": "孤单家长", "guardian_phone": "13912345678"},  # 9: guardian without student
        {
            "name": "老师",
            "kind": "教师",
            "number": "T9",
            "guardian_name": "某",
            "guardian_phone": "13912345679",
        },
        student("2023027", coverer="NOBODY"),  # 11: unknown covering member
        student("2023028", id_number=ID_B, gender="男"),  # 12: gender contradicts the ID
        student("2023029", enrolment_year="去年"),  # 13: not a year
    ]
    before = snapshot()
    result = run(xlsx(rows), cast.uni)
    assert not result.committed
    assert lines(result) == [
        "row 2, column 姓名: 必填项“姓名”为空",
        "row 3, column 类别: 无法识别的类别“外星人”，可填："
        "学生、教师、职工、家长、民警、银行职员、居民、志愿者",
        "row 4, column 班级代码: 未知的班级代码 XX99",
        "row 6, column 学号/工号: 学号/工号 2023023 与第 5 行重复",
        "row 7, column 手机号: 手机号格式不正确",
        "row 8, column 身份证号: 身份证号校验位错误",
        "row 9, column 监护人姓名: 监护人信息没有对应的学生：请把监护人填在学生所在行",
        "row 10, column 监护人姓名: 只有学生行可以填写监护人（本行类别为教师）",
        "row 11, column 联系班委学号: 联系班委学号 NOBODY 不在本文件中，也不是本单位的已有人员",
        "row 12, column 性别: 性别与身份证号不一致",
        "row 13, column 入学年份: 入学年份应为四位年份",
    ]
    assert snapshot() == before


def test_guardian_rows_need_name_and_phone_and_match_parents_by_phone(cast):
    missing = run(xlsx([student("2023009", guardian_relation="父亲")]), cast.uni)
    assert lines(missing) == [
        "row 2, column 监护人姓名: 填写了监护人信息，但监护人姓名为空",
        "row 2, column 监护人手机: 监护人手机为空：家长按手机号识别，必须填写",
    ]
    # 张父 (13900139000) already exists: a sibling's row links him instead of creating a second parent.
    row = student("2023009", guardian_name="张父", guardian_phone="13900139000", guardian_relation="父亲")
    result = run(xlsx([row]), cast.uni)
    assert result.ok and result.summary["guardians_created"] == 0
    assert Guardianship.objects.get(student__external_number="2023009").guardian_id == cast.parent.pk
    conflict = run(
        xlsx(
            [
                student("2023010", guardian_name="甲", guardian_phone="13912340001"),
                student("2023011", guardian_name="乙", guardian_phone="13912340001"),
            ]
        ),
        cast.uni,
    )
    assert lines(conflict) == ["row 3, column 监护人手机: 监护人手机与第 2 行相同，但姓名不同"]


def test_id_number_typed_as_a_number_is_explained(cast):
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append([c.header for c in columns.COLUMNS])
    ws.append(["甲", "学生", "2023009", "CS", "CS2301", None, None, None, None, 1.10105194912310e17])
    out = io.BytesIO()
    book.save(out)
    assert lines(run(out.getvalue(), cast.uni)) == [
        "row 2, column 身份证号: 身份证号被存成了数字，末几位已丢失：请把该列设为文本格式后重新填写"
    ]
