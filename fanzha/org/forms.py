"""Forms of the organisation pages. They validate input only; writes are done by ``actions``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fanzha.core.identifiers import normalize_id_number, normalize_phone
from fanzha.core.widgets import LongSelect

from . import actions, scope
from .models import Gender, MembershipRole, PersonKind, Unit, UnitKind


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Attach an action's ``ValidationError`` to ``form``.

    Why: actions name the model field at fault, which a form may not have; those messages
    become form-wide errors instead of crashing ``add_error``.
    """
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class Form(forms.Form):
    """Base form: labels sit above their fields, so they carry no trailing colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


UNIT_KINDS = dict(UnitKind.choices)  # once: ``UnitKind.values`` builds a new list on every call


class UnitChoiceField(forms.ModelChoiceField):
    """Units labelled with their kind, indented by depth when shown as a list (of any length: see
    ``LongSelect``)."""

    widget = LongSelect

    def label_from_instance(self, obj: Any) -> str:
        kind = UNIT_KINDS.get(obj.kind, obj.kind)
        name = getattr(obj, "shown_name", obj.name)  # a dormitory room with its building (with_building)
        if isinstance(self.widget, forms.RadioSelect):
            return str(name)
        return f"{'　' * max(0, obj.depth - self.top_depth)}{name}（{kind}）"

    top_depth = 1

    def offer(self, units: QuerySet[Unit], extra: Any = None, empty: Any = None) -> list[Unit]:
        """Accept any of ``units``; list the ones ``shown_units`` picks (all of a small scope, the upper
        levels of a large one, and ``extra``: the unit a link, a sent form or the edited record names),
        after an ``empty`` choice when given. Returns the units listed.

        Why: a province's 45,000 units made every form with a unit field a page of seconds and a list
        nobody can scroll; a unit deeper than the list is reached by a link that names it.
        """
        self.queryset = units
        pk = extra.pk if isinstance(extra, Unit) else extra
        shown = shown_units(units, int(pk) if str(pk or "").isdigit() else None)
        self.top_depth = min((u.depth for u in shown), default=1)
        listed = [(u.pk, self.label_from_instance(u)) for u in shown]
        self.choices = ([("", empty)] if empty is not None else []) + listed
        return shown


def offer_units(form: forms.Form, name: str, units: QuerySet[Unit], empty: Any = None) -> list[Unit]:
    """``UnitChoiceField.offer`` for the form's field ``name``, naming the unit the sent form (or, before
    it is sent, its initial data) holds, so that a chosen unit deeper than the list stays listed."""
    named = form.data.get(name) if form.is_bound else form.initial.get(name)
    field = form.fields[name]
    assert isinstance(field, UnitChoiceField)
    return field.offer(units, named, empty)


# A form lists every unit of a scope up to this many; a larger scope lists its upper levels (whole
# levels, up to this many) and the unit a link names.
MAX_SHOWN_UNITS = 300


def shown_units(units: QuerySet[Unit], extra: int | None = None) -> list[Unit]:
    """The units a form lists: all of them, or for a large scope its upper levels (whole levels, up to
    ``MAX_SHOWN_UNITS``) plus ``extra``, the unit a link or a sent form names."""
    depths = dict(units.order_by().values_list("depth").annotate(n=Count("pk")).values_list("depth", "n"))
    keep: list[int] = []
    total = 0
    for depth in sorted(depths):
        if keep and total + depths[depth] > MAX_SHOWN_UNITS:
            break
        keep.append(depth)
        total += depths[depth]
    shown = units.filter(depth__in=keep) | (units.filter(pk=extra) if extra else units.none())
    return list(shown.order_by("path"))


class LoginForm(AuthenticationForm):
    """Django's login form, labelled for the number-or-phone sign-in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("学号/工号或手机号")
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "inputmode": "text"})
        self.fields["password"].label = _("密码")
        self.error_messages["invalid_login"] = _("账号或密码不正确。多次失败后账号将被暂时锁定。")


class UnitSearchForm(Form):
    """Search box of the unit list."""

    q = forms.CharField(
        label=_("搜索单位"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": _("名称、代码或拼音首字母，如 jsj"), "type": "search"}),
    )


# The kind a new child usually has, so the form starts on the likely choice.
CHILD_KIND = {
    UnitKind.BUREAU_PROVINCE: UnitKind.BUREAU_CITY,
    UnitKind.BUREAU_CITY: UnitKind.BUREAU_DISTRICT,
    UnitKind.BUREAU_DISTRICT: UnitKind.SCHOOL,
    UnitKind.SCHOOL: UnitKind.COLLEGE,
    UnitKind.KINDERGARTEN: UnitKind.CLASS,
    UnitKind.COLLEGE: UnitKind.CLASS,
    UnitKind.GRADE: UnitKind.CLASS,
    UnitKind.DORM_BUILDING: UnitKind.DORM_ROOM,
    UnitKind.POLICE_BUREAU: UnitKind.POLICE_DEPARTMENT,
    UnitKind.BANK_HEAD: UnitKind.BANK_BRANCH,
    UnitKind.BANK_BRANCH: UnitKind.BANK_OUTLET,
}


class ChildUnitForm(Form):
    """A new child of the unit on the page."""

    name = forms.CharField(label=_("名称"), max_length=120)
    code = forms.CharField(label=_("代码"), max_length=40)
    kind = forms.ChoiceField(label=_("类型"), choices=UnitKind.choices)

    prefix = "child"

    @classmethod
    def for_parent(cls, parent: Unit) -> ChildUnitForm:
        """An empty form whose kind is the one children of ``parent`` usually have."""
        return cls(initial={"kind": CHILD_KIND.get(parent.kind, UnitKind.OTHER)})


class RenameUnitForm(Form):
    """New name and code of a unit."""

    name = forms.CharField(label=_("名称"), max_length=120)
    code = forms.CharField(label=_("代码"), max_length=40)

    prefix = "rename"


class UnitCodeField(forms.CharField):
    """A unit named by its code (or a code path such as ``UNI/MA``), found inside a given scope."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault(
            "help_text", _("填写单位代码；代码在范围内不唯一时，用“上级代码/代码”的形式，如 UNI/MA")
        )
        super().__init__(*args, **kwargs)


class _ScopedUnitForm(Form):
    """A form with a unit field resolved within the user's scope for ``cap``."""

    cap = scope.Cap.VIEW
    unit_field = "unit"

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def resolve(self, code: str) -> Unit:
        roots = Unit.objects.filter(path__in=scope.scope_paths(self.user, self.cap))
        try:
            unit = actions.resolve_unit(code, within=roots)
        except Unit.DoesNotExist as exc:
            raise ValidationError(_("在您的管理范围内未找到该单位")) from exc
        if not scope.in_scope(self.user, unit, self.cap):
            raise ValidationError(_("在您的管理范围内未找到该单位"))
        return unit

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        code = cleaned.get(self.unit_field)
        if code:
            try:
                cleaned[self.unit_field] = self.resolve(code)
            except ValidationError as exc:
                self.add_error(self.unit_field, exc)
        return cleaned


class MoveUnitForm(_ScopedUnitForm):
    """Where to move a unit: a parent inside the user's editing scope."""

    target = UnitCodeField(label=_("移到上级单位"))

    cap = scope.Cap.EDIT_UNITS
    unit_field = "target"
    prefix = "move"


class PersonSearchForm(Form):
    """Filters of the people list; ``unit`` is the subtree chosen on a unit page."""

    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": _("姓名、学号/工号或拼音首字母"), "type": "search"}),
    )
    kind = forms.ChoiceField(
        label=_("类别"), required=False, choices=[("", _("全部类别")), *PersonKind.choices]
    )
    unit = forms.IntegerField(required=False, widget=forms.HiddenInput)


class PersonForm(Form):
    """Edit a person. Phone and ID are never shown back: blank keeps them, a tick clears them."""

    name = forms.CharField(label=_("姓名"), max_length=60)
    kind = forms.ChoiceField(label=_("类别"), choices=PersonKind.choices)
    gender = forms.ChoiceField(label=_("性别"), choices=Gender.choices, required=False)
    external_number = forms.CharField(label=_("学号/工号"), max_length=40, required=False)
    birth_year = forms.IntegerField(label=_("出生年份"), required=False, min_value=1900)
    enrolment_year = forms.IntegerField(label=_("入学年份"), required=False, min_value=1950)
    phone = forms.CharField(
        label=_("手机号"),
        required=False,
        max_length=30,
        help_text=_("留空则不修改"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    clear_phone = forms.BooleanField(label=_("清除手机号"), required=False)
    id_number = forms.CharField(
        label=_("身份证号"),
        required=False,
        max_length=30,
        help_text=_("留空则不修改"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    clear_id_number = forms.BooleanField(label=_("清除身份证号"), required=False)
    is_active = forms.BooleanField(label=_("在册"), required=False)

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone", "")
        return normalize_phone(raw) if raw.strip() else ""

    def clean_id_number(self) -> str:
        raw = self.cleaned_data.get("id_number", "")
        return normalize_id_number(raw) if raw.strip() else ""

    def clean_birth_year(self) -> int | None:
        return self._not_future(self.cleaned_data.get("birth_year"), 0)

    def clean_enrolment_year(self) -> int | None:
        return self._not_future(self.cleaned_data.get("enrolment_year"), 1)

    @staticmethod
    def _not_future(year: int | None, slack: int) -> int | None:
        if year is not None and year > timezone.now().year + slack:
            raise ValidationError(_("年份不能晚于 %(year)s 年") % {"year": timezone.now().year + slack})
        return year

    def action_kwargs(self) -> dict[str, Any]:
        """Arguments for ``actions.save_person``: ``None`` leaves phone and ID unchanged."""
        data = self.cleaned_data
        kwargs = {key: data[key] for key in ("name", "kind", "gender", "birth_year", "enrolment_year")}
        kwargs["is_active"] = data["is_active"]
        kwargs["external_number"] = data["external_number"]
        kwargs["phone"] = "" if data["clear_phone"] else (data["phone"] or None)
        kwargs["id_number"] = "" if data["clear_id_number"] else (data["id_number"] or None)
        return kwargs


class MembershipForm(_ScopedUnitForm):
    """Put a person in a unit of the user's editing scope, with a role."""

    unit = UnitCodeField(label=_("单位代码"))
    role = forms.ChoiceField(label=_("角色"), choices=MembershipRole.choices, initial=MembershipRole.MEMBER)

    cap = scope.Cap.EDIT_PEOPLE
    prefix = "member"


class RevealForm(Form):
    """Which sensitive number to show: only these two may be revealed."""

    field = forms.ChoiceField(choices=[("phone", _("手机号")), ("id_number", _("身份证号"))])


class JurisdictionForm(Form):
    """Which police station and bank outlet a school, community, village … belongs to (empty: keep)."""

    station = forms.ModelChoiceField(label=_("所属派出所"), queryset=Unit.objects.none(), required=False)
    outlet = forms.ModelChoiceField(label=_("所属银行网点"), queryset=Unit.objects.none(), required=False)

    prefix = "jur"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        active = Unit.objects.filter(is_active=True).order_by("name", "path")
        self.fields["station"].queryset = active.filter(kind=UnitKind.POLICE_STATION)  # type: ignore[attr-defined]
        self.fields["outlet"].queryset = active.filter(kind=UnitKind.BANK_OUTLET)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("station") and not data.get("outlet"):
            raise forms.ValidationError(_("请选择派出所或银行网点"))
        return data
