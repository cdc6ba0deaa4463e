"""Forms of the campaign pages. They validate input only; writes are done by ``actions``.

A plan's sections are a tree; on a form each section is one textarea, keyed by its position
("0", "1.2" …), and ``rebuild_sections`` puts the edited bodies back into the tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fanzha.org import names
from fanzha.org.forms import Form
from fanzha.org.models import Unit
from fanzha.org.scope import Cap, scope_paths, units_for

from . import queries
from .periods import Semester
from .spec import PLACEHOLDER, TemplateSpec, fill

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


@dataclass(frozen=True)
class FlatSection:
    key: str
    heading: str
    body: str
    depth: int
    auto: str


def flatten_sections(
    sections: list[dict[str, Any]], prefix: str = "", depth: int = 0
) -> Iterator[FlatSection]:
    """Each section of the tree with its position key, parents before children."""
    for index, section in enumerate(sections):
        key = f"{prefix}{index}"
        yield FlatSection(key, section["heading"], section["body"], depth, section.get("auto", ""))
        yield from flatten_sections(section.get("children", []), f"{key}.", depth + 1)


def rebuild_sections(
    sections: list[dict[str, Any]], bodies: dict[str, str], prefix: str = ""
) -> list[dict[str, Any]]:
    """The section tree with the bodies edited on the form (sections not on the form keep theirs)."""
    result = []
    for index, section in enumerate(sections):
        key = f"{prefix}{index}"
        result.append(
            {
                "heading": section["heading"],
                "body": bodies.get(key, section["body"]),
                "auto": section.get("auto", ""),
                "children": rebuild_sections(section.get("children", []), bodies, f"{key}."),
            }
        )
    return result


PICK_UNIT = gettext_lazy("请选择发起单位")
PREAMBLE_LABEL = gettext_lazy("开头语（不加标题）")

# The built-in names a plan's text may use, by their Chinese names (a page never shows "{organisation}").
BUILTIN_LABELS = {
    "organisation": gettext_lazy("单位名称"),
    "year": gettext_lazy("年份"),
    "issue_date": gettext_lazy("印发日期"),
    "locality": gettext_lazy("本地称谓（县、区、市）"),
    "class_teacher": gettext_lazy("班主任称谓"),
}


def placeholder_labels(spec: TemplateSpec | None) -> dict[str, str]:
    """Each name a plan's text may use with its Chinese label: the built-ins, then the template's own."""
    labels = {name: str(label) for name, label in BUILTIN_LABELS.items()}
    if spec is not None:
        labels.update({p.name: p.label or p.name for p in spec.placeholders})
    return labels


def _label_of(labels: dict[str, str]) -> Any:
    return lambda m: f"【{labels[m.group(1)]}】" if m.group(1) in labels else m.group(0)


def labelled(text: str, labels: dict[str, str]) -> str:
    """``text`` with each ``{name}`` written as 【中文名】, so an editor sees words, not codes."""
    return PLACEHOLDER.sub(_label_of(labels), text)


def unlabelled(text: str, labels: dict[str, str]) -> str:
    """The inverse of ``labelled``: 【中文名】 back to ``{name}`` (typed ``{name}`` stays as it is)."""
    for name, label in labels.items():
        text = text.replace(f"【{label}】", "{" + name + "}")
    return text


class SectionsMixin:
    """Adds one textarea per section, labelled with its heading; placeholders appear by Chinese name."""

    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def add_section_fields(self, sections: list[dict[str, Any]], spec: TemplateSpec | None = None) -> None:
        self.section_tree = sections
        self.section_labels = placeholder_labels(spec)
        self.section_rows: list[tuple[FlatSection, str]] = []
        for flat in flatten_sections(sections):
            name = f"sec_{flat.key}"
            label = labelled(flat.heading, self.section_labels) if flat.heading else PREAMBLE_LABEL
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                initial=labelled(flat.body, self.section_labels),
                widget=forms.Textarea(attrs={"rows": 4 if flat.body else 2}),
                strip=True,
            )
            self.section_rows.append((flat, name))

    def section_body(self, name: str) -> str:
        """A section's text as typed (or as the template has it), with ``{name}`` placeholders."""
        # A section not posted at all (a search, or a client that leaves the sections alone) keeps the
        # template's text; one posted empty is emptied.
        data = getattr(self, "cleaned_data", None) or {}
        posted = name in getattr(self, "data", {})
        value = data[name] if posted and name in data else self.fields[name].initial
        return unlabelled(value or "", self.section_labels)

    def edited_sections(self) -> list[dict[str, Any]]:
        bodies = {flat.key: self.section_body(name) for flat, name in self.section_rows}
        return rebuild_sections(self.section_tree, bodies)


class StartCampaignForm(SectionsMixin, Form):
    """Start a campaign from one template: the unit (picked from a search of the user's CAMPAIGN scope),
    the period, the plan's fields by their Chinese names, and the sections."""

    q = forms.CharField(
        label=gettext_lazy("查找单位"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("输入单位名称、拼音首字母或代码，再点“查找”"),
    )
    unit = forms.IntegerField(
        label=gettext_lazy("由哪个单位发起"),
        error_messages={"required": PICK_UNIT, "invalid": PICK_UNIT},
    )
    starts_on = forms.DateField(label=gettext_lazy("开始日期"), widget=DATE_INPUT)
    ends_on = forms.DateField(
        label=gettext_lazy("结束日期"),
        required=False,
        widget=DATE_INPUT,
        help_text=gettext_lazy("留空则按模板的周期计算"),
    )
    organisation = forms.CharField(
        label=gettext_lazy("单位名称（用于方案正文）"),
        required=False,
        max_length=120,
        help_text=gettext_lazy("留空则使用发起单位的名称"),
    )

    def __init__(
        self,
        *args: Any,
        spec: TemplateSpec,
        user: Any,
        sections: list[dict[str, Any]],
        query: str = "",
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.spec, self.user = spec, user
        self.fields["starts_on"].initial = timezone.localdate()
        self.fields["q"].initial = query
        roots = scope_paths(user, Cap.CAMPAIGN)
        only = Unit.objects.filter(path=roots[0]).first() if len(roots) == 1 else None
        self.offered_unit = only if not self.is_bound else None
        if only is not None and not self.is_bound:  # one place to start from: offer it
            self.fields["unit"].initial = only.pk
        builtin = {"locality": names.place(only)} if only is not None else {}
        self.placeholder_names: list[str] = []
        for placeholder in spec.placeholders:
            if placeholder.name == "organisation":
                continue
            name = f"ph_{placeholder.name}"
            # A default naming a built-in ("本{locality}") is shown filled in, or left blank to be
            # filled from the unit the campaign starts on.
            initial = fill(placeholder.default, builtin)
            self.fields[name] = forms.CharField(
                label=placeholder.label or placeholder.name,
                required=False,
                max_length=200,
                initial="" if PLACEHOLDER.search(initial) else initial,
                help_text=_("留空则按发起单位填写") if PLACEHOLDER.search(initial) else "",
            )
            self.placeholder_names.append(placeholder.name)
        self.add_section_fields(sections, spec)

    def clean_unit(self) -> Unit:
        """Only a unit of the user's CAMPAIGN scope: a forged id of any other is refused."""
        unit = units_for(self.user, Cap.CAMPAIGN).filter(pk=self.cleaned_data["unit"]).first()
        if unit is None:
            raise ValidationError(_("在您可管理的范围内没有找到该单位"))
        self.picked = unit  # kept checked on the page even when the start then refuses it
        return unit

    def chosen_unit(self) -> Unit | None:
        """The unit picked so far (in scope), or the one offered before anything is posted."""
        return getattr(self, "picked", None) or self.offered_unit

    def search_text(self) -> str:
        return str((getattr(self, "cleaned_data", None) or {}).get("q") or self.fields["q"].initial or "")

    def unit_choices(self) -> list[dict[str, Any]]:
        """The picker's radio list: the units found (or the scope's top units), the chosen one first."""
        chosen = self.chosen_unit()
        rows = queries.startable_units(self.user, self.search_text())
        if chosen is not None and all(unit.pk != chosen.pk for unit, _path in rows):
            rows = queries.with_paths([chosen]) + rows
        chosen_pk = chosen.pk if chosen is not None else None
        return [{"unit": u, "path": path, "checked": u.pk == chosen_pk} for u, path in rows]

    def placeholders(self) -> dict[str, str]:
        values = {name: self.cleaned_data.get(f"ph_{name}", "") for name in self.placeholder_names}
        if self.cleaned_data.get("organisation"):
            values["organisation"] = self.cleaned_data["organisation"]
        return values


class SectionsForm(SectionsMixin, Form):
    """Edit the bodies of a running campaign's plan sections."""

    def __init__(self, *args: Any, sections: list[dict[str, Any]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.add_section_fields(sections)


SEMESTER_LINE = re.compile(
    r"^(?P<name>.+?)\s+(?P<start>\d{4}-\d{1,2}-\d{1,2})\s*(?:至|到|~|—|-{1,2})?\s*(?P<end>\d{4}-\d{1,2}-\d{1,2})$"
)


def semester_lines(semesters: list[Semester]) -> str:
    return "\n".join(f"{s.name} {s.start.isoformat()} {s.end.isoformat()}" for s in semesters)


class SchoolCalendarForm(Form):
    """A school's semesters, one a line: "name start end"."""

    semesters = forms.CharField(
        label=gettext_lazy("学期"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy(
            "每行一个学期：名称 开学日期 结束日期，"
            "例如“2025—2026学年第一学期 2025-09-01 2026-01-18”。清空则恢复默认校历。"
        ),
    )

    def clean_semesters(self) -> list[Semester]:
        result = []
        for number, line in enumerate(self.cleaned_data["semesters"].splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            match = SEMESTER_LINE.match(line)
            try:
                if match is None:
                    raise ValueError(line)
                start, end = (date.fromisoformat(_pad(match.group(k))) for k in ("start", "end"))
            except ValueError as exc:
                raise ValidationError(
                    _("第 %(number)s 行格式不正确，应为“名称 开学日期 结束日期”") % {"number": number}
                ) from exc
            result.append(Semester(start, end, match.group("name").strip()))
        return result


def _pad(value: str) -> str:
    year, month, day = value.split("-")
    return f"{year}-{int(month):02d}-{int(day):02d}"
