"""Roster import: reading, checking, planning and the all-or-nothing write, on real files."""

from __future__ import annotations

import io
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook, load_workbook

from fanzha.org.models import Guardianship, Membership, Person, Unit, UnitKind
from fanzha.org.roster import actions as roster

from .files import bad_checksum, csv_bytes, id_number, student, with_empty_rows, xlsx

pytestmark = pytest.mark.django_db

ID_A = id_number("11010120050301001")  # odd sequence digit: male, born 2005
ID_B = id_number("11010120060402002")  # female, born 2006


def run(data: bytes, root: Unit, filename: str = "roster.xlsx", **options) -> roster.ImportResult:
    return roster.import_roster(io.BytesIO(data), root, filename=filename, **options)


def snapshot() -> tuple[int, int, int, int]:
    return (
        Person.objects.count(),
        Membership.objects.count(),
        Guardianship.objects.count(),
        Unit.objects.count(),
    )


def lines(result: roster.ImportResult) -> list[str]:
    return [str(p) for p in result.problems]


def test_template_has_chinese_headers_and_reads_back_empty():
    out = io.BytesIO()
    roster.write_template(out)
    book = load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames[0] == "花名册"
    assert [c.value for c in book["花名册"][1]][:3] == ["姓名*", "类别*", "学号/工号"]
    assert "说明" in book.sheetnames
    table = roster.read_table(io.BytesIO(out.getvalue()), "t.xlsx")
    assert set(table.columns) == {c.key for c in roster.COLUMNS}
    assert [p.message for p in table.problems.sorted()] == ["文件中没有数据行"]


def test_import_creates_people_places_guardian_and_coverage(cast):
    row = student(
        "2023009",
        building="D1",
        room="D1-101",
        role="宿舍长",
        phone="138 1234 5678",
        id_number=ID_A,
        enrolment_year=2023,
        guardian_name="新家长",
        guardian_phone="+86 139 1234 5678",
        guardian_relation="母亲",
        coverer="2023002",
    )
    result = run(xlsx([row]), cast.uni)
    assert result.ok and result.committed, lines(result)
    person = Person.objects.get(root=cast.uni, external_number="2023009")
    assert (person.name, person.kind, person.initials) == ("新同学", "student", "xtx")
    assert person.phone == "13812345678" and person.phone_masked == "138****5678"
    assert person.id_number == ID_A and "2005" not in person.id_number_masked
    assert (person.gender, person.birth_year, person.enrolment_year) == ("m", 2005, 2023)  # from the ID
    assert person.covered_by_id == cast.monitor.pk
    places = set(Membership.objects.filter(person=person).values_list("unit__code", "role"))
    assert places == {("CS2301", "member"), ("D1-101", "dorm_head")}
    link = Guardianship.objects.get(student=person)
    assert (link.guardian.name, link.guardian.kind, link.relation) == ("新家长", "parent", "mother")
    assert link.guardian.phone == "13912345678" and link.guardian.root_id == cast.uni.pk
    assert result.summary["people_created"] == 1 and result.summary["guardians_created"] == 1


def test_reimporting_the_same_file_writes_nothing(cast):
    data = xlsx(
        [
            student(
                "2023009",
                phone="13812345678",
                id_number=ID_A,
                guardian_name="新家长",
                guardian_phone="13912345678",
            ),
            student("2023010", name="另一位", room="D1-101", building="D1", coverer="2023009"),
        ]
    )
    with CaptureQueriesContext(connection) as first:
        assert run(data, cast.uni).ok
    assert any(q["sql"].startswith("INSERT") for q in first)  # the fast inserts are counted too
    before = list(Person.objects.order_by("pk").values_list("pk", "updated_at"))
    with CaptureQueriesContext(connection) as queries:
        again = run(data, cast.uni)
    assert again.ok and again.committed
    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert list(Person.objects.order_by("pk").values_list("pk", "updated_at")) == before
    assert again.summary["people_unchanged"] == 2 and again.summary["people_created"] == 0


def test_edited_file_updates_people_by_number_without_duplicates(cast):
    assert run(xlsx([student("2023009", phone="13812345678")]), cast.uni).ok
    count = Person.objects.count()
    edited = xlsx([student("2023009", name="改名了", phone="13812340000", **{"class": "CS2302"})])
    result = run(edited, cast.uni)
    assert result.ok and result.summary["people_updated"] == 1
    assert Person.objects.count() == count
    person = Person.objects.get(root=cast.uni, external_number="2023009")
    assert (person.name, person.initials, person.phone) == ("改名了", "gml", "13812340000")
    assert list(Membership.objects.filter(person=person).values_list("unit__code", flat=True)) == ["CS2302"]


def test_existing_student_moves_class_and_keeps_other_places(cast):
    # 张三 is in CS2301 and in room D1-101; the file moves him to CS2302 and says nothing of rooms.
    result = run(xlsx([student("2023001", name="张三", **{"class": "CS2302"})]), cast.uni)
    assert result.ok, lines(result)
    places = set(Membership.objects.filter(person=cast.student).values_list("unit__code", "role"))
    assert places == {("CS2302", "member"), ("D1-101", "member")}
    student_row = Person.objects.get(pk=cast.student.pk)
    assert student_row.phone == "13800138000"  # blank cells leave stored values alone
    assert student_row.covered_by_id == cast.monitor.pk


def test_dry_run_reports_counts_and_writes_nothing(cast):
    before = snapshot()
    result = run(xlsx([student("2023009"), student("2023010", name="乙")]), cast.uni, dry_run=True)
    assert result.ok and not result.committed
    assert result.summary["people_created"] == 2
    assert snapshot() == before


def test_create_units_makes_missing_classes_and_dormitories(cast):
    row = student("2023009", **{"class": "CS2399"}, building="D9", room="909")
    before = snapshot()
    refused = run(xlsx([row]), cast.uni)
    assert lines(refused) == [
        "row 2, column 班级代码: 未知的班级代码 CS2399",
        "row 2, column 宿舍楼代码: 未知的宿舍楼代码 D9",
    ]
    assert snapshot() == before
    result = run(
        xlsx([row, student("2023010", **{"class": "CS2399"}, building="D9", room="909")]),
        cast.uni,
        create_units=True,
    )
    assert result.ok and result.summary["units_created"] == 3
    klass = Unit.objects.get(code="CS2399")
    assert (klass.kind, klass.parent_path) == (UnitKind.CLASS, cast.cs.path)
    building = Unit.objects.get(code="D9")
    assert (building.kind, building.parent_path) == (UnitKind.DORM_BUILDING, cast.uni.path)
    room = Unit.objects.get(code="909")
    assert (room.kind, room.parent_path) == (UnitKind.DORM_ROOM, building.path)
    assert Unit.objects.find_problems() == ([], [], [], [], [])
    assert Membership.objects.filter(unit=klass).count() == 2


def test_create_units_needs_an_existing_college(cast):
    result = run(xlsx([student("2023009", college="", **{"class": "ZZ01"})]), cast.uni, create_units=True)
    assert lines(result) == ["row 2, column 班级代码: 未知的班级代码 ZZ01：要自动创建班级，请填写学院代码"]
    result = run(xlsx([student("2023009", college="NOPE", **{"class": "ZZ01"})]), cast.uni, create_units=True)
    assert lines(result) == ["row 2, column 学院代码: 未知的学院代码 NOPE"]


def test_class_codes_resolve_bare_by_path_and_within_college(cast):
    from fanzha.org import actions

    actions.create_unit(parent=cast.ma, name="同代码班", code="CS2301", kind="class")
    ambiguous = run(xlsx([student("2023009", college="")]), cast.uni)
    assert lines(ambiguous) == [
        "row 2, column 班级代码: 班级代码 CS2301 不唯一：请同时填写上级代码，或写成 上级代码/代码"
    ]
    rows = [student("2023009", college="MA"), student("2023010", college="", **{"class": "CS/CS2301"})]
    result = run(xlsx(rows), cast.uni)
    assert result.ok, lines(result)
    assert Membership.objects.get(person__external_number="2023009").unit.parent_path == cast.ma.path
    assert Membership.objects.get(person__external_number="2023010").unit_id == cast.cs2301.pk


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


def test_people_outside_the_import_unit_are_not_touched(cast):
    # 王五 (2023101) is in MA2301; importing into CS must not change him.
    result = run(xlsx([student("2023101", name="冒名")]), cast.cs)
    assert lines(result) == [
        "row 2, column 学号/工号: 此人已属于本单位范围以外，不能在此修改（学号/工号 2023101）"
    ]
    assert Person.objects.get(pk=cast.math_student.pk).name == "王五"
    # The same number in another organisation is another person.
    assert run(xlsx([student("2023001", name="张三", **{"class": "CS2301"})]), cast.uni).ok
    assert Person.objects.get(pk=cast.other_student.pk).name == "赵六"


def test_id_number_of_another_person_is_refused(cast):
    result = run(xlsx([student("2023009", id_number="11010519491231002X")]), cast.uni)
    assert lines(result) == ["row 2, column 身份证号: 身份证号已属于另一名已有人员"]


# --------------------------------------------------------------------------- bad files


def test_not_a_spreadsheet(cast):
    before = snapshot()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    for data, name in [(png, "roster.xlsx"), (png, "roster.csv"), (b"%PDF-1.7 \x00\x01", "roster.pdf")]:
        assert lines(run(data, cast.uni, filename=name)) == [
            "row 0, column -: 这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"
        ]
    zipped = io.BytesIO()
    with __import__("zipfile").ZipFile(zipped, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    assert "这不是有效的表格文件" in lines(run(zipped.getvalue(), cast.uni))[0]
    old = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    assert "不支持旧版 .xls" in lines(run(old, cast.uni, filename="roster.xls"))[0]
    assert snapshot() == before


def test_wrong_sheet_and_header_not_on_row_one(cast):
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "成绩"
    ws.append(["科目", "分数"])
    ws.append(["数学", 90])
    out = io.BytesIO()
    book.save(out)
    assert lines(run(out.getvalue(), cast.uni)) == [
        "row 1, column -: 没有找到花名册工作表：表头应在第1行（姓名、类别……）。本文件的工作表：成绩"
    ]
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["示范大学2023级学生花名册"])
    ws.append([c.header for c in roster.COLUMNS])
    out = io.BytesIO()
    book.save(out)
    assert lines(run(out.getvalue(), cast.uni)) == [
        "row 1, column -: 工作表“Sheet”的表头应在第1行：请删除表头上方的 1 行"
    ]


def test_the_roster_sheet_is_found_among_others(cast):
    book = Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "说明"
    notes.append(["请在第二个工作表填写"])
    ws = book.create_sheet("学生")
    ws.append([c.header for c in roster.COLUMNS])
    ws.append(["新同学", "学生", "2023009", "CS", "CS2301"])
    out = io.BytesIO()
    book.save(out)
    assert run(out.getvalue(), cast.uni).ok


def test_a_million_empty_rows_are_cut_short(cast):
    empty_only = with_empty_rows(xlsx([]), 1_000_000)
    started = time.perf_counter()
    assert lines(run(empty_only, cast.uni)) == ["row 0, column -: 文件中没有数据行"]
    assert time.perf_counter() - started < 10
    data_then_empty = with_empty_rows(xlsx([student("2023009")]), 1_000_000)
    result = run(data_then_empty, cast.uni)
    assert result.ok and result.summary["rows"] == 1
    csv_empty = csv_bytes([]) + b",,,,\r\n" * 1_000_000
    assert lines(run(csv_empty, cast.uni, filename="r.csv")) == ["row 0, column -: 文件中没有数据行"]


def test_too_many_rows_are_refused(cast, monkeypatch):
    monkeypatch.setattr(roster, "MAX_DATA_ROWS", 3)
    before = snapshot()
    result = run(xlsx([student(f"20230{i}") for i in range(50, 55)]), cast.uni)
    assert lines(result) == ["row 0, column -: 数据超过 3 行上限：请拆分文件后分批导入"]
    assert snapshot() == before


def test_formula_cells_are_refused(cast):
    data = xlsx([student("2023009", name='=CONCAT("张","三")'), student("2023010", phone="=13800000000+1")])
    assert lines(run(data, cast.uni)) == [
        "row 2, column 姓名: 单元格含公式：请复制后“选择性粘贴为数值”再导入",
        "row 3, column 手机号: 单元格含公式：请复制后“选择性粘贴为数值”再导入",
    ]


def test_merged_cells_are_refused(cast):
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "花名册"
    ws.append([c.header for c in roster.COLUMNS])
    ws.append(["甲", "学生", "2023009", "CS", "CS2301"])
    ws.append([None, "学生", "2023010", "CS", "CS2301"])
    ws.merge_cells("A1:B1")
    ws.merge_cells("A2:A3")
    out = io.BytesIO()
    book.save(out)
    before = snapshot()
    assert lines(run(out.getvalue(), cast.uni)) == [
        "row 1, column 姓名: 表头单元格 A1:B1 被合并：请取消合并，每列一个表头",
        "row 1, column 类别: 缺少必需的列“类别”",  # the merge swallowed the second header
        "row 2, column 姓名: 单元格 A2:A3 被合并：请取消合并并在每一行填写完整",
    ]
    assert snapshot() == before


def test_oversize_file_is_refused_before_reading(cast, settings):
    settings.FANZHA_MAX_UPLOAD_BYTES = 1000
    data = xlsx([student("2023009")])
    assert len(data) > 1000
    assert lines(run(data, cast.uni))[0].startswith("row 0, column -: 文件过大")


def test_gbk_and_utf8_csv_are_read(cast):
    rows = [student("2023009", name="欧阳锋", phone="13812345678")]
    for encoding in ("gbk", "gb18030", "utf-8", "utf-8-sig", "utf-16"):
        result = run(csv_bytes(rows, encoding), cast.uni, filename="名单.csv")
        assert result.ok, (encoding, lines(result))
    assert Person.objects.get(external_number="2023009").name == "欧阳锋"
    tabbed = csv_bytes(rows, "gbk").replace(b",", b"\t")
    assert run(tabbed, cast.uni, filename="名单.txt").ok


def test_wrong_encoding_gets_a_clear_message(cast):
    undecodable = "姓名,类别\n".encode("gbk") + b"\xff\xfe\xfd\xfc,\x81\x30\n"
    assert lines(run(undecodable, cast.uni, filename="r.csv")) == [
        "row 0, column -: 无法识别文件编码：CSV 文件请以 UTF-8 或 GBK（GB18030）编码保存"
    ]
    big5 = "姓名,類別,學號\n張三,學生,2023009\n".encode("big5")  # traditional Chinese, another code page
    message = lines(run(big5, cast.uni, filename="r.csv"))[0]
    assert "UTF-8 或 GBK" in message


def test_id_number_typed_as_a_number_is_explained(cast):
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append([c.header for c in roster.COLUMNS])
    ws.append(["甲", "学生", "2023009", "CS", "CS2301", None, None, None, None, 1.10105194912310e17])
    out = io.BytesIO()
    book.save(out)
    assert lines(run(out.getvalue(), cast.uni)) == [
        "row 2, column 身份证号: 身份证号被存成了数字，末几位已丢失：请把该列设为文本格式后重新填写"
    ]


def test_missing_and_duplicated_columns(cast):
    headers = ["姓名", "学号", "手机号", "手机"]
    assert lines(run(xlsx([], headers=headers), cast.uni)) == [
        "row 1, column 类别: 缺少必需的列“类别”",
        "row 1, column 手机号: 列“手机号”重复出现（第一次在 C 列）",
    ]


# --------------------------------------------------------------------------- export


def test_export_writes_the_template_layout_masked(cast):
    out = io.BytesIO()
    count = roster.export_roster(cast.uni, out)
    assert count == 3  # 张三, 李四, 王五
    book = load_workbook(io.BytesIO(out.getvalue()))
    rows = {r[2]: r for r in book["花名册"].iter_rows(min_row=2, values_only=True)}
    zhang = rows["2023001"]
    assert zhang[:8] == ("张三", "学生", "2023001", "CS", "CS2301", "D1", "D1-101", None)
    assert zhang[8] == "138****8000" and zhang[9] == "110***********002X"
    assert zhang[13:] == ("张父", "139****9000", "父亲", "2023002")
    assert rows["2023002"][7] == "班长"


def test_export_then_import_changes_nothing_and_reveal_writes_full_numbers(cast):
    out = io.BytesIO()
    roster.export_roster(cast.uni, out)
    result = run(out.getvalue(), cast.uni)
    assert result.ok, lines(result)
    assert not any(v for k, v in result.summary.items() if k not in {"rows", "people_unchanged"})
    full = io.BytesIO()
    roster.export_roster(cast.cs2301, full, reveal=True)
    values = [
        r for r in load_workbook(full)["花名册"].iter_rows(min_row=2, values_only=True) if r[2] == "2023001"
    ]
    assert values[0][8] == "13800138000" and values[0][9] == "11010519491231002X"
