"""What the clue and dissuasion pages post, parsed and checked; never written here (``actions``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fanzha.org.forms import Form

from ..models import ClueOutcome, ClueSource, DissuasionOutcome

MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ClueForm(Form):
    source = forms.ChoiceField(label=_("来源"), choices=ClueSource.choices)
    content = forms.CharField(label=_("线索内容"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))
    indicators = forms.CharField(
        label=_("涉诈号码/账号/网址"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("每行一个。"),
    )
    case_number = forms.CharField(label=_("关联案件编号"), required=False, max_length=24)


class DispatchForm(Form):
    assignee = forms.TypedChoiceField(label=_("承办单位"), coerce=int, choices=())
    deadline = forms.DateTimeField(
        label=_("反馈期限"),
        required=False,
        widget=MOMENT,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text=_("不填则按默认期限。"),
    )

    def __init__(self, *args: Any, units: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = list(units or [])  # type: ignore[attr-defined]


class AnswerForm(Form):
    outcome = forms.ChoiceField(label=_("核查结果"), choices=ClueOutcome.choices)
    feedback = forms.CharField(label=_("反馈内容"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))


class DissuasionForm(Form):
    outcome = forms.ChoiceField(label=_("劝阻结果"), choices=DissuasionOutcome.choices)
    amount = forms.DecimalField(
        label=_("避免损失金额（元）"), required=False, min_value=0, max_digits=14, decimal_places=2
    )
    note = forms.CharField(label=_("备注"), required=False, max_length=300)


class UploadForm(Form):
    batch = forms.CharField(
        label=_("名单批次"), max_length=80, help_text=_("例如：国家反诈中心预警名单12月第1批。")
    )
    file = forms.FileField(
        label=_("名单文件（XLSX 或 CSV）"),
        help_text=_("表头：姓名、电话、原因、派出所（代码或名称，或填辖区社区）。"),
    )


class ConfirmForm(Form):
    batch = forms.CharField(max_length=80, widget=forms.HiddenInput)
    token = forms.CharField(widget=forms.HiddenInput)
