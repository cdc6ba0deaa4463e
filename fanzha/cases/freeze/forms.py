"""Forms of the freeze-request pages: what the police send and what the bank answers. They parse
input; ``actions`` validates the rules and writes (its errors go back onto these forms)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy

from fanzha.org.forms import Form

from ..models import FreezeRequest
from .actions import ACCOUNT_RESULTS, MAX_DEADLINE_MINUTES, NUMBER_RESULTS


class SendForm(Form):
    """One account or number of the case (``key``), the kind, the unit (empty: routed) and the deadline."""

    key = forms.CharField(max_length=64, widget=forms.HiddenInput)
    kind = forms.ChoiceField(label=gettext_lazy("请求类型"), choices=FreezeRequest.Kind.choices)
    unit = forms.IntegerField(label=gettext_lazy("接收单位"), required=False)
    minutes = forms.IntegerField(
        label=gettext_lazy("答复时限（分钟）"),
        min_value=1,
        max_value=MAX_DEADLINE_MINUTES,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def deadline_minutes(self) -> int:
        return self.cleaned_data.get("minutes") or settings.FANZHA_FREEZE_ANSWER_MINUTES


class SendAllForm(Form):
    account_kind = forms.ChoiceField(
        label=gettext_lazy("收款账户请求类型"),
        choices=[
            (FreezeRequest.Kind.FREEZE, FreezeRequest.Kind.FREEZE.label),
            (FreezeRequest.Kind.STOP_PAYMENT, FreezeRequest.Kind.STOP_PAYMENT.label),
        ],
    )
    minutes = forms.IntegerField(
        label=gettext_lazy("答复时限（分钟）"), min_value=1, max_value=MAX_DEADLINE_MINUTES, required=False
    )


class AnswerForm(Form):
    """Amount stays text: ``intake.parse_amount`` reads "1,200元" and names the field at fault."""

    result = forms.ChoiceField(label=gettext_lazy("办理结果"), choices=FreezeRequest.Result.choices)
    frozen_amount = forms.CharField(
        label=gettext_lazy("冻结金额（元）"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    frozen_at = forms.DateTimeField(
        label=gettext_lazy("冻结/停机生效时间（不填为现在）"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(
        label=gettext_lazy("说明（不予办理时必填）"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, req: FreezeRequest | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if req is not None:
            allowed = NUMBER_RESULTS if req.is_number else ACCOUNT_RESULTS
            field = self.fields["result"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [("", "---------"), *[(r.value, r.label) for r in allowed]]
