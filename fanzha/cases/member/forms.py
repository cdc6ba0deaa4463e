"""The short self-report form a student fills on their phone right after being cheated, and its
transfer rows. Parsed into a ``CaseInput``; ``intake.clean_input`` checks it like any other report."""

from __future__ import annotations

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from fanzha.org.forms import Form

from ..forms import PICK, money_field, when_field
from ..intake import IndicatorIn
from ..models import ContactChannel, FraudKind, IndicatorKind, TransferMethod


class MemberReportForm(Form):
    """The short form a student fills on their phone right after being cheated."""

    fraud_type = forms.ChoiceField(label=_("被骗的类型"), required=False, choices=PICK + FraudKind.choices)
    channel = forms.ChoiceField(
        label=_("对方怎么联系你的"), required=False, choices=PICK + ContactChannel.choices
    )
    occurred_at = when_field(_("大约什么时候开始的"))
    narrative = forms.CharField(
        label=_("发生了什么"),
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": _("简单说说经过：对方说了什么，让你做了什么")}
        ),
    )
    suspect_phones = forms.CharField(
        label=_("对方的电话号码"),
        required=False,
        help_text=_("每行一个"),
        widget=forms.Textarea(attrs={"rows": 2, "inputmode": "tel"}),
    )
    suspect_links = forms.CharField(
        label=_("对方发来的网址"),
        required=False,
        help_text=_("每行一个"),
        widget=forms.Textarea(attrs={"rows": 2, "inputmode": "url"}),
    )
    submit_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def indicators(self) -> list[IndicatorIn]:
        d = self.cleaned_data
        rows = [IndicatorIn(IndicatorKind.PHONE, line) for line in _lines(d.get("suspect_phones"))]
        rows += [IndicatorIn(IndicatorKind.URL, line) for line in _lines(d.get("suspect_links"))]
        return rows


class MemberTransferForm(Form):
    at = when_field(_("转账时间"))
    amount = money_field(_("金额（元）"))
    method = forms.ChoiceField(label=_("方式"), required=False, choices=PICK + TransferMethod.choices)
    to_account = forms.CharField(label=_("对方收款账号"), required=False, max_length=100)


MemberTransferFormSet = formset_factory(MemberTransferForm, extra=2, max_num=20, validate_max=True)


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()][:20]
