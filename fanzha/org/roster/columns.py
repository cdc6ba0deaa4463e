"""The roster's columns and problems: the template's headers (and the aliases people type), what
each column holds, and the problems every stage reports by row and column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_PROBLEMS = 10_000  # problems kept for the report; the rest are only counted


MAX_HEADER_COLUMNS = 64


SHEET_NAME = "花名册"


Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class Column:
    """One template column: its key, its Chinese header (data, not translated) and its help text."""

    key: str
    header: str
    required: bool = False
    help: Any = ""
    width: int = 12
    text: bool = False  # formatted as text in the template, so Excel keeps leading zeros and all digits


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", True, gettext_lazy("必填，最长60字"), 10),
    Column(
        "kind", "类别", True, gettext_lazy("必填：学生、教师、职工、家长、民警、银行职员、居民、志愿者"), 8
    ),
    Column("number", "学号/工号", False, gettext_lazy("同一组织内唯一；再次导入时按它更新同一人"), 14, True),
    Column("college", "学院代码", False, gettext_lazy("班级所在学院（或部门）的代码"), 10, True),
    Column(
        "class",
        "班级代码",
        False,
        gettext_lazy("班级代码；不唯一时填写学院代码，或写成 学院代码/班级代码"),
        12,
        True,
    ),
    Column("building", "宿舍楼代码", False, gettext_lazy("宿舍楼代码"), 10, True),
    Column("room", "宿舍房间代码", False, gettext_lazy("宿舍房间代码（在宿舍楼之下）"), 12, True),
    Column("role", "班委职务", False, gettext_lazy("班长、班委、宿舍长、辅导员……；不填为普通成员"), 10),
    Column("phone", "手机号", False, gettext_lazy("11位手机号或带区号的固定电话"), 14, True),
    Column("id_number", "身份证号", False, gettext_lazy("18位居民身份证号，校验位须正确"), 20, True),
    Column("gender", "性别", False, gettext_lazy("男或女；不填时按身份证号推算"), 6),
    Column("birth_year", "出生年份", False, gettext_lazy("四位年份；不填时按身份证号推算"), 8),
    Column("enrolment_year", "入学年份", False, gettext_lazy("四位年份"), 8),
    Column("guardian_name", "监护人姓名", False, gettext_lazy("只填在学生行"), 10),
    Column(
        "guardian_phone", "监护人手机", False, gettext_lazy("家长按手机号识别，填写监护人时必填"), 14, True
    ),
    Column("guardian_relation", "监护人关系", False, gettext_lazy("父亲、母亲、祖父母、其他"), 10),
    Column("coverer", "联系班委学号", False, gettext_lazy("负责联系本人的班委的学号"), 14, True),
    Column(
        "account",
        "开通账号",
        False,
        gettext_lazy("填“是”：为教职工、民警、银行职员等开通员工账号，导入后短信通知本人自己设置密码"),
        8,
    ),
)


COLUMN_BY_KEY = {c.key: c for c in COLUMNS}


COLUMN_ORDER = {c.key: i for i, c in enumerate(COLUMNS)}


REQUIRED_KEYS = [c.key for c in COLUMNS if c.required]


_HEADER_ALIASES = {
    "name": ["姓名", "name"],
    "kind": ["类别", "人员类别", "身份", "kind"],
    "number": ["学号/工号", "学号", "工号", "学工号", "编号", "number", "external_number"],
    "college": ["学院代码", "学院", "部门代码", "college"],
    "class": ["班级代码", "班级", "class"],
    "building": ["宿舍楼代码", "宿舍楼", "楼栋", "building"],
    "room": ["宿舍房间代码", "宿舍代码", "宿舍房间", "房间号", "宿舍", "room"],
    "role": ["班委职务", "职务", "role"],
    "phone": ["手机号", "手机", "手机号码", "联系电话", "电话", "phone"],
    "id_number": ["身份证号", "身份证", "身份证号码", "id_number"],
    "gender": ["性别", "gender"],
    "birth_year": ["出生年份", "出生年", "birth_year"],
    "enrolment_year": ["入学年份", "入学年", "enrolment_year"],
    "guardian_name": ["监护人姓名", "家长姓名", "guardian_name"],
    "guardian_phone": ["监护人手机", "监护人手机号", "监护人电话", "家长手机", "家长电话", "guardian_phone"],
    "guardian_relation": ["监护人关系", "与学生关系", "家长关系", "guardian_relation"],
    "coverer": ["联系班委学号", "联系班委", "coverer"],
    "account": ["开通账号", "开通员工账号", "开账号", "account"],
}


def _norm_header(value: Any) -> str:
    text = str(value if value is not None else "").strip()
    for junk in ("*", "＊", " ", "\u3000", "\n", "\r", "\t", "\ufeff"):
        text = text.replace(junk, "")
    return text.replace("（", "(").replace("）", ")").replace("／", "/").lower()


HEADER_KEYS = {_norm_header(alias): key for key, aliases in _HEADER_ALIASES.items() for alias in aliases}


def header_label(key: str) -> str:
    """The template header of a column key, as used in problem lines."""
    column = COLUMN_BY_KEY.get(key)
    return column.header if column else key


@dataclass(frozen=True)
class Problem:
    """Something wrong with the file: where (row, column header) and what, in the user's language."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column or '-'}: {self.message}"

    def as_list(self) -> list[Any]:
        return [self.row, self.column or "-", self.message]


class Problems:
    """A capped, ordered collection of problems (a million bad rows must not take a gigabyte)."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.items: list[tuple[int, int, Problem]] = []
        self.total = 0
        self.limit = limit

    def add(self, row: int, key: str, message: str) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            label = header_label(key) if key else "-"
            self.items.append((row, COLUMN_ORDER.get(key, -1), Problem(row, label, message)))

    def __bool__(self) -> bool:
        return self.total > 0

    def sorted(self) -> list[Problem]:
        """Problems by row then column; a final line says how many more were left out."""
        result = [p for _r, _o, p in sorted(self.items, key=lambda item: (item[0], item[1]))]
        if self.total > len(result):
            more = self.total - len(result)
            result.append(Problem(0, "-", _("另有 %(count)d 个问题未列出") % {"count": more}))
        return result
