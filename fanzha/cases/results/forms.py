"""Forms of the results pages: they parse input; ``actions`` checks the rules and writes."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy

from fanzha.org.forms import Form, UnitChoiceField
from fanzha.org.models import Unit

from ..models import CaseResult

DATE = forms.DateInput(attrs={"type": "date"})


class ResultForm(Form):
    """One result on a case: cleared, suspects caught (a count) or money recovered (an amount)."""

    kind = forms.ChoiceField(label=gettext_lazy("战果类型"), choices=CaseResult.Kind.choices)
    on = forms.DateField(label=gettext_lazy("日期"), widget=DATE)
    count = forms.IntegerField(
        label=gettext_lazy("抓获人数"),
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    amount = forms.CharField(
        label=gettext_lazy("追回金额（元）"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    note = forms.CharField(label=gettext_lazy("备注"), max_length=200, required=False)


class GangForm(Form):
    """A gang broken: the unit from the user's police scope, and the case numbers it is linked to."""

    name = forms.CharField(label=gettext_lazy("团伙名称"), max_length=100)
    unit = UnitChoiceField(label=gettext_lazy("办案单位"), queryset=Unit.objects.none())
    broken_on = forms.DateField(label=gettext_lazy("打掉日期"), widget=DATE)
    members_caught = forms.IntegerField(
        label=gettext_lazy("抓获成员数"),
        min_value=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    cases = forms.CharField(
        label=gettext_lazy("关联案件编号"),
        help_text=gettext_lazy("多个编号用空格、逗号或换行分隔"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    note = forms.CharField(label=gettext_lazy("备注"), max_length=200, required=False)

    def numbers(self) -> list[str]:
        return [n for n in re.split(r"[\s,，、;；]+", self.cleaned_data["cases"]) if n]
