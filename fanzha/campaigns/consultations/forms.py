"""Forms of the consultation pages: the meeting, a decision, closing a decision. Units are picked from
the campaign's own units, never typed as codes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fanzha.org.forms import Form, UnitChoiceField, offer_units, shown_units
from fanzha.org.models import Person, Unit

from ..forms import DATE_INPUT


class UnitsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class MeetingForm(Form):
    unit = UnitChoiceField(label=_("召集单位"), queryset=Unit.objects.none(), empty_label=None)
    held_on = forms.DateField(label=_("会商日期"), widget=DATE_INPUT)
    title = forms.CharField(label=_("会商议题"), max_length=200)
    units_present = UnitsField(
        label=_("参会单位"), queryset=Unit.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    minutes = forms.CharField(label=_("会议纪要"), required=False, widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args: Any, convening: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_units(self, "unit", convening)
        present: Any = self.fields["units_present"]
        present.queryset = units  # any of them is accepted; a large campaign lists its upper levels
        sent = self.data.getlist("units_present") if hasattr(self.data, "getlist") else []
        shown = shown_units(units) + list(units.filter(pk__in=[p for p in sent if str(p).isdigit()]))
        present.choices = [(u.pk, present.label_from_instance(u)) for u in dict.fromkeys(shown)]
        self.fields["units_present"].error_messages["required"] = _("请至少选择一个参会单位。")


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class DecisionForm(Form):
    text = forms.CharField(label=_("决定事项"), widget=forms.Textarea(attrs={"rows": 3}))
    owner_unit = UnitChoiceField(label=_("责任单位"), queryset=Unit.objects.none())
    owner_person = PersonChoiceField(
        label=_("责任人（可不填）"), queryset=Person.objects.none(), required=False
    )
    due_on = forms.DateField(label=_("办结期限"), widget=DATE_INPUT)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_units(self, "owner_unit", units)
        self.fields["owner_person"].queryset = (  # type: ignore[attr-defined]
            Person.objects.filter(Q(user__grants__unit__in=units)).distinct().order_by("pk")
        )


class CloseForm(Form):
    note = forms.CharField(label=_("办结情况"), widget=forms.Textarea(attrs={"rows": 3}))
