"""The roster template and the roster export: the same spreadsheet out that the import takes in
(masked numbers unless revealed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.utils import translation
from django.utils.translation import gettext as _

from fanzha.core import sheets

from ..accounts.queries import STAFF_KINDS
from ..models import Gender, Guardianship, Membership, MembershipRole, Person, PersonKind, Unit, UnitKind
from .columns import COLUMN_ORDER, COLUMNS, SHEET_NAME
from .plan import _DORM_KINDS, _chunks
from .read import MAX_DATA_ROWS


def _header_font() -> Any:
    from openpyxl.styles import Font

    return Font(bold=True)


def write_template(out: IO[bytes] | str | Path) -> None:
    """The empty template: the 花名册 sheet with Chinese headers and drop-down lists, and a 说明 sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET_NAME
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header + ("*" if column.required else ""))
        cell.font = _header_font()
        if column.required:
            cell.fill = required_fill
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width + 4
        if column.text:
            sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "A2"
    lists = {
        "kind": PersonKind,
        "gender": Gender,
        "role": MembershipRole,
        "guardian_relation": Guardianship.Relation,
    }
    with translation.override("zh-hans"):
        for key, choices in lists.items():
            letter = get_column_letter(COLUMN_ORDER[key] + 1)
            labels = ",".join(str(label) for value, label in choices.choices if value)
            validation = DataValidation(type="list", formula1=f'"{labels}"', allow_blank=True)
            validation.add(f"{letter}2:{letter}{MAX_DATA_ROWS + 1}")
            sheet.add_data_validation(validation)
    notes = book.create_sheet("说明")
    sheets.append(notes, [_("列"), _("必填"), _("说明")])
    for cell in notes[1]:
        cell.font = _header_font()
    for column in COLUMNS:
        sheets.append(notes, [column.header, _("是") if column.required else "", str(column.help)])
    sheets.append(notes, [])
    sheets.append(notes, [_("表头在第1行，数据从第2行开始；不要合并单元格，不要使用公式。")])
    sheets.append(notes, [_("CSV 文件请以 UTF-8 或 GBK 编码保存，表头与本模板相同。")])
    sheets.append(notes, [_("留空的可选项保持原值不变；同一学号/工号再次导入时更新此人，不会重复。")])
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 6
    notes.column_dimensions["C"].width = 70
    book.save(out)


def export_rows(unit: Unit, reveal: bool = False) -> Iterator[list[Any]]:
    """Rows for the roster of everyone with a place in ``unit``'s subtree, in template order.

    Phone and ID numbers are masked unless ``reveal`` (the caller checks the right and audits it);
    masked values re-import as "unchanged". A student with several guardians is written with the
    first one (father, then mother …), since the template has one guardian per row.
    """
    members = (
        Membership.objects.filter(unit__path__startswith=unit.path)
        .order_by("person_id", "unit__path")
        .values_list("person_id", "role", "unit__kind", "unit__code", "unit__parent_path")
    )
    places: dict[int, list[tuple[str, str, str, str]]] = defaultdict(list)
    for person_id, role, kind, code, parent_path in members.iterator(chunk_size=5000):
        places[person_id].append((role, kind, code, parent_path))
    parent_paths = {p[3] for items in places.values() for p in items}
    parent_codes: dict[str, str] = {}
    for chunk in _chunks(sorted(parent_paths)):
        parent_codes.update(Unit.objects.filter(path__in=chunk).values_list("path", "code"))
    kinds = {k: str(v) for k, v in PersonKind.choices}
    genders = {"m": "男", "f": "女"}
    roles = {k: str(v) for k, v in MembershipRole.choices}
    relations = {k: str(v) for k, v in Guardianship.Relation.choices}
    rank = {r: i for i, r in enumerate(Guardianship.Relation.values)}
    for chunk in _chunks(sorted(places), 2000):
        people = {p.pk: p for p in Person.objects.filter(pk__in=chunk)}
        coverers = [p.covered_by_id for p in people.values() if p.covered_by_id]
        numbers = dict(Person.objects.filter(pk__in=coverers).values_list("pk", "external_number"))
        guardians: dict[int, tuple[int, Person, str]] = {}
        links = Guardianship.objects.filter(student_id__in=chunk).select_related("guardian").order_by("pk")
        for link in links:
            current = guardians.get(link.student_id)
            if current is None or rank.get(link.relation, 99) < current[0]:
                guardians[link.student_id] = (rank.get(link.relation, 99), link.guardian, link.relation)
        for pk in chunk:
            person = people.get(pk)
            if person is None:
                continue
            college = klass = building = room = role = ""
            for m_role, kind, code, parent_path in places[pk]:
                if kind in _DORM_KINDS:
                    if kind == UnitKind.DORM_ROOM:
                        room, building = code, parent_codes.get(parent_path, "")
                    elif not room:
                        building = code
                    if m_role == MembershipRole.DORM_HEAD:
                        role = role or roles[m_role]
                elif kind == UnitKind.CLASS and not klass:
                    klass, college = code, parent_codes.get(parent_path, "")
                    if m_role != MembershipRole.MEMBER:
                        role = roles.get(m_role, "")
                elif not klass and not college:
                    college = code  # a teacher in a college, an officer in a department …
                    if m_role != MembershipRole.MEMBER:
                        role = roles.get(m_role, "")
            guardian = guardians.get(pk)
            yield [
                person.name,
                kinds.get(person.kind, person.kind),
                person.external_number,
                college,
                klass,
                building,
                room,
                role,
                person.phone if reveal else person.phone_masked,
                person.id_number if reveal else person.id_number_masked,
                genders.get(person.gender, ""),
                person.birth_year,
                person.enrolment_year,
                guardian[1].name if guardian else "",
                (guardian[1].phone if reveal else guardian[1].phone_masked) if guardian else "",
                relations.get(guardian[2], "") if guardian else "",
                numbers.get(person.covered_by_id or 0, ""),
                # "开通账号": staff who have one (a re-import leaves accounts as they are)
                _("是") if person.user_id and person.kind in STAFF_KINDS else "",
            ]


def export_roster(unit: Unit, out: IO[bytes] | str | Path, reveal: bool = False) -> int:
    """Write the roster of ``unit``'s subtree as an XLSX in the template layout, so it can be re-imported.

    Every value is written through ``core.sheets``: text that starts like a formula stays text.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_NAME)
    header = []
    for column in COLUMNS:
        cell = WriteOnlyCell(sheet, value=column.header + ("*" if column.required else ""))
        cell.font = _header_font()
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in export_rows(unit, reveal=reveal):
        sheets.append(sheet, row)
        count += 1
    book.save(out)
    return count
