"""Checking a roster's rows without touching the database: every cell normalised (names, kinds,
numbers, phones, dates, choices in Chinese or English), every problem named by row and column.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from fanzha.core import crypto
from fanzha.core.identifiers import normalize_id_number, normalize_phone

from ..models import Gender, Guardianship, MembershipRole, PersonKind
from .columns import REQUIRED_KEYS, Problems, Progress, header_label
from .read import _EXCEL_ERRORS, Table


@dataclass(slots=True)
class RowData:
    """One row after normalisation. ``None`` means "blank: leave the stored value as it is"."""

    row: int
    name: str = ""
    kind: str = ""
    number: str = ""
    college: str = ""
    klass: str = ""
    building: str = ""
    room: str = ""
    role: str = ""
    phone: str | None = None
    phone_hash: str = ""
    phone_masked: str = ""  # a masked value from an export: keep the stored one if it matches
    id_number: str | None = None
    id_hash: str = ""
    id_masked: str = ""
    gender: str | None = None
    birth_year: int | None = None
    enrolment_year: int | None = None
    guardian_name: str = ""
    guardian_phone: str = ""
    guardian_hash: str = ""
    guardian_masked: str = ""
    guardian_relation: str = ""
    coverer: str = ""
    account: bool = False  # "开通账号": open a staff account after the import
    valid: bool = True


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\u3000", " ").replace("\xa0", " ").strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _choice_map(choices: Any, extra: dict[str, str]) -> dict[str, str]:
    """Accept codes, Chinese labels, labels in the active language and a few everyday synonyms."""
    mapping = {str(value).lower(): str(value) for value in choices.values}
    with translation.override("zh-hans"):
        mapping.update({str(label).lower(): str(value) for value, label in choices.choices if value})
    mapping.update({str(label).lower(): str(value) for value, label in choices.choices if value})
    mapping.update(extra)
    return mapping


def _value_maps() -> dict[str, dict[str, str]]:
    return {
        "kind": _choice_map(
            PersonKind,
            {"老师": "teacher", "教职工": "staff", "员工": "staff", "父母": "parent", "监护人": "parent"},
        ),
        "gender": _choice_map(
            Gender, {"男": "m", "女": "f", "男性": "m", "女性": "f", "male": "m", "female": "f"}
        ),
        "role": _choice_map(
            MembershipRole,
            {
                "普通成员": "member",
                "学生": "member",
                "副班长": "committee",
                "团支书": "committee",
                "团支部书记": "committee",
                "寝室长": "dorm_head",
                "室长": "dorm_head",
            },
        ),
        "guardian_relation": _choice_map(
            Guardianship.Relation,
            {
                "父": "father",
                "爸爸": "father",
                "母": "mother",
                "妈妈": "mother",
                "祖父": "grandparent",
                "祖母": "grandparent",
                "外祖父": "grandparent",
                "外祖母": "grandparent",
                "爷爷": "grandparent",
                "奶奶": "grandparent",
                "外公": "grandparent",
                "外婆": "grandparent",
            },
        ),
    }


_YES = {"是", "开通", "y", "yes", "1", "true", "√", "✓", "需要"}
_NO = {"否", "不", "不开通", "n", "no", "0", "false", "×", "不需要"}


def _choices_text(choices: Any) -> str:
    return "、".join(str(label) for value, label in choices.choices if value)


def _year(value: Any) -> int | None:
    if isinstance(value, datetime | date):
        return value.year
    text = _text(value).rstrip("年")
    if re.fullmatch(r"\d{4}", text):
        return int(text)
    raise ValueError(text)


@lru_cache(maxsize=1)
def _mobile_pattern() -> re.Pattern[str]:
    import phonenumbers

    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    assert metadata is not None and metadata.mobile is not None
    return re.compile(metadata.mobile.national_number_pattern or r"$^")


def _phone(raw: str) -> str:
    """``normalize_phone`` with a fast path for plain mobile numbers, the bulk of any roster.

    Why: full parsing costs about 20 µs, and a roster has two phone numbers per row. The path
    matches the same national-number pattern that ``phonenumbers`` validates mobiles against.
    """
    if len(raw) == 11 and raw[0] == "1" and raw.isdigit() and _mobile_pattern().fullmatch(raw):
        return raw
    return normalize_phone(raw)


def check_rows(table: Table, progress: Progress | None = None) -> tuple[list[RowData], Problems]:
    """Normalise and validate every row on its own and against the other rows; no database access."""
    problems = Problems()
    maps = _value_maps()
    cols = table.columns
    this_year = date.today().year
    seen_number: dict[str, int] = {}
    seen_id: dict[str, int] = {}
    seen_phone_key: dict[tuple[str, str], int] = {}
    guardian_names: dict[str, tuple[str, int]] = {}
    result: list[RowData] = []
    last_tick = time.monotonic()

    for done, (number, values) in enumerate(table.rows, start=1):
        if progress and done % 1000 == 0 and time.monotonic() - last_tick > 0.5:
            last_tick = time.monotonic()
            progress("check", done, len(table.rows))
        data = RowData(row=number)
        before = problems.total

        def add(key: str, message: str, _number: int = number) -> None:
            problems.add(_number, key, message)

        raw: dict[str, Any] = {}
        flagged: set[str] = set()
        for key, index in cols.items():
            value = values[index]
            if isinstance(value, str):
                stripped = value.strip()
                if stripped.startswith("="):
                    add(key, _("单元格含公式：请复制后“选择性粘贴为数值”再导入"))
                    flagged.add(key)
                    continue
                if stripped in _EXCEL_ERRORS:
                    add(key, _("单元格是错误值 %(value)s") % {"value": stripped})
                    flagged.add(key)
                    continue
            raw[key] = value
        text = {key: _text(value) for key, value in raw.items()}

        def choice(key: str, mapping: dict[str, str], choices: Any, text: dict[str, str] = text) -> str:
            value = text.get(key, "")
            if not value:
                return ""
            found = mapping.get(value.lower())
            if found is None:
                add(
                    key,
                    _("无法识别的%(column)s“%(value)s”，可填：%(choices)s")
                    % {"column": header_label(key), "value": value[:20], "choices": _choices_text(choices)},
                )
                return ""
            return found

        def limited(key: str, limit: int, text: dict[str, str] = text) -> str:
            value = text.get(key, "")
            if len(value) > limit:
                add(key, _("%(column)s不能超过 %(max)d 个字符") % {"column": header_label(key), "max": limit})
                return value[:limit]
            return value

        has_guardian = any(text.get(k) for k in ("guardian_name", "guardian_phone", "guardian_relation"))
        data.name = limited("name", 60)
        data.number = limited("number", 40)
        if not data.name and not data.number and has_guardian:
            add("guardian_name", _("监护人信息没有对应的学生：请把监护人填在学生所在行"))
        else:
            for key in REQUIRED_KEYS:
                if not text.get(key) and key not in flagged:
                    add(key, _("必填项“%(column)s”为空") % {"column": header_label(key)})
        data.kind = choice("kind", maps["kind"], PersonKind)
        data.college = limited("college", 200)
        data.klass = limited("class", 200)
        data.building = limited("building", 200)
        data.room = limited("room", 200)
        data.role = choice("role", maps["role"], MembershipRole)
        data.coverer = limited("coverer", 40)

        # Phone and ID: normalised, hashed for matching; masked values from an export are kept as they are.
        phone = text.get("phone", "")
        if phone:
            if "*" in phone:
                data.phone_masked = phone
            else:
                try:
                    data.phone = _phone(phone)
                    data.phone_hash = crypto.keyed_hash(data.phone)
                except ValidationError as exc:
                    add("phone", exc.messages[0])
        id_raw = raw.get("id_number")
        id_text = text.get("id_number", "")
        if isinstance(id_raw, float) and abs(id_raw) >= 1e15:
            add("id_number", _("身份证号被存成了数字，末几位已丢失：请把该列设为文本格式后重新填写"))
        elif id_text:
            if "*" in id_text:
                data.id_masked = id_text
            else:
                try:
                    data.id_number = normalize_id_number(id_text)
                    data.id_hash = crypto.keyed_hash(data.id_number)
                except ValidationError as exc:
                    add("id_number", exc.messages[0])

        data.gender = choice("gender", maps["gender"], Gender) or None
        for key in ("birth_year", "enrolment_year"):
            if text.get(key):
                try:
                    year = _year(raw[key])
                except ValueError:
                    year = None
                if year is None or not 1900 <= year <= this_year + 1:
                    add(key, _("%(column)s应为四位年份") % {"column": header_label(key)})
                else:
                    setattr(data, key, year)
        if data.id_number:
            id_year = int(data.id_number[6:10])
            id_gender = "m" if int(data.id_number[16]) % 2 else "f"
            if data.gender and data.gender != id_gender:
                add("gender", _("性别与身份证号不一致"))
            if data.birth_year and data.birth_year != id_year:
                add("birth_year", _("出生年份与身份证号不一致"))
            data.gender = data.gender or id_gender
            data.birth_year = data.birth_year or id_year

        # Guardian columns: only on a student's row, with a name and a phone (parents are matched by phone).
        if has_guardian and (data.name or data.number):
            if data.kind and data.kind != PersonKind.STUDENT:
                add(
                    "guardian_name",
                    _("只有学生行可以填写监护人（本行类别为%(kind)s）")
                    % {"kind": PersonKind(data.kind).label},
                )
            data.guardian_name = limited("guardian_name", 60)
            if not data.guardian_name:
                add("guardian_name", _("填写了监护人信息，但监护人姓名为空"))
            guardian_phone = text.get("guardian_phone", "")
            if not guardian_phone:
                add("guardian_phone", _("监护人手机为空：家长按手机号识别，必须填写"))
            elif "*" in guardian_phone:
                data.guardian_masked = guardian_phone
            else:
                try:
                    data.guardian_phone = _phone(guardian_phone)
                    data.guardian_hash = crypto.keyed_hash(data.guardian_phone)
                except ValidationError as exc:
                    add("guardian_phone", exc.messages[0])
            data.guardian_relation = choice(
                "guardian_relation", maps["guardian_relation"], Guardianship.Relation
            )
            if data.guardian_hash and data.guardian_name:
                earlier = guardian_names.get(data.guardian_hash)
                if earlier is None:
                    guardian_names[data.guardian_hash] = (data.guardian_name, number)
                elif earlier[0] != data.guardian_name:
                    add(
                        "guardian_phone", _("监护人手机与第 %(row)d 行相同，但姓名不同") % {"row": earlier[1]}
                    )

        if data.role == MembershipRole.DORM_HEAD and not (data.building or data.room):
            add("role", _("宿舍长需要填写宿舍楼代码或宿舍房间代码"))
        elif data.role and data.role != MembershipRole.DORM_HEAD and not (data.klass or data.college):
            add("role", _("填写了班委职务，但没有班级代码"))
        if data.coverer and data.coverer == data.number:
            add("coverer", _("联系班委不能是本人"))
        wants = text.get("account", "").lower()
        if wants in _YES:
            if data.kind in {PersonKind.STUDENT, PersonKind.PARENT}:
                add(
                    "account",
                    _("学生和家长在班级链接上登录，不开通员工账号（本行类别为%(kind)s）")
                    % {"kind": PersonKind(data.kind).label},
                )
            else:
                data.account = True
        elif wants and wants not in _NO:
            add(
                "account",
                _("开通账号只能填“是”或“否”（不填为否），不能是“%(value)s”") % {"value": wants[:20]},
            )

        # Within the file: one row per person.
        if data.number:
            if data.number in seen_number:
                add(
                    "number",
                    _("学号/工号 %(number)s 与第 %(row)d 行重复")
                    % {"number": data.number, "row": seen_number[data.number]},
                )
            else:
                seen_number[data.number] = number
        if data.id_hash:
            if data.id_hash in seen_id:
                add("id_number", _("身份证号与第 %(row)d 行重复") % {"row": seen_id[data.id_hash]})
            else:
                seen_id[data.id_hash] = number
        if not data.number and not data.id_hash and not data.id_masked:
            if data.phone_hash:
                phone_key = (data.kind, data.phone_hash)
                if phone_key in seen_phone_key:
                    add(
                        "phone",
                        _("与第 %(row)d 行是同一人（手机号相同，且都没有学号/工号和身份证号）")
                        % {"row": seen_phone_key[phone_key]},
                    )
                else:
                    seen_phone_key[phone_key] = number
            elif data.name and not data.phone_masked:
                add("number", _("请至少填写学号/工号、身份证号或手机号之一，以便再次导入时识别此人"))
        data.valid = problems.total == before
        result.append(data)
    return result, problems
