"""Forms of the follow-up pages: plan, session, closing. Limits come from ``actions``, which writes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from fanzha.org.forms import Form
from fanzha.org.models import User

from ..models import Case
from . import actions


class DateInput(forms.DateInput):
    """A phone's date picker; its value must be ISO whatever the language's date format."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class UserChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.first_name or obj.username


class PlanForm(Form):
    plan = forms.CharField(
        label=gettext_lazy("疏导计划"),
        required=False,
        max_length=actions.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("仅辅导员和心理咨询师可见。"),
    )
    planned_sessions = forms.IntegerField(
        label=gettext_lazy("计划次数"), min_value=1, max_value=actions.MAX_SESSIONS
    )
    next_date = forms.DateField(label=gettext_lazy("下次日期"), required=False, widget=DateInput)
    counsellor = UserChoice(queryset=User.objects.none(), label=gettext_lazy("辅导员"), required=False)
    psychologist = UserChoice(queryset=User.objects.none(), label=gettext_lazy("心理咨询师"), required=False)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = actions.counsel_users(case)
        for name in ("counsellor", "psychologist"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = people


class SessionForm(Form):
    held_on = forms.DateField(label=gettext_lazy("疏导日期"), widget=DateInput)
    notes = forms.CharField(
        label=gettext_lazy("疏导记录"),
        max_length=actions.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("仅辅导员和心理咨询师可见。"),
    )
    next_date = forms.DateField(
        label=gettext_lazy("下次日期"),
        required=False,
        widget=DateInput,
        help_text=gettext_lazy("到期当天会提醒辅导员和心理咨询师。"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The plan form on the same page has a next_date too: its own ids keep each label on its field.
        kwargs.setdefault("auto_id", "session_%s")
        super().__init__(*args, **kwargs)


class CloseForm(Form):
    closing_note = forms.CharField(
        label=gettext_lazy("结束说明"), max_length=actions.MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )
