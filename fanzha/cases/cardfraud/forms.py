"""What the card-fraud pages post, parsed and checked; never written here (``actions``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fanzha.org.forms import Form

from ..models import CardHandling, CardInvolvement, CardKind

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class HandleForm(Form):
    handling = forms.ChoiceField(label=_("处理方式"), choices=CardHandling.choices)
    education = forms.CharField(
        label=_("教育情况"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("例如：辅导员谈话、“两卡”法治教育、家长到校共同教育。"),
    )
    educated_on = forms.DateField(label=_("教育日期"), required=False, widget=DATE)


class RecordForm(HandleForm):
    number = forms.CharField(label=_("学号"), max_length=40)
    card_kind = forms.ChoiceField(label=_("卡的类型"), choices=CardKind.choices)
    involvement = forms.ChoiceField(label=_("涉及行为"), choices=CardInvolvement.choices)
    found_on = forms.DateField(label=_("发现日期"), widget=DATE)
    source = forms.CharField(
        label=_("线索来源"),
        required=False,
        max_length=100,
        help_text=_("例如：公安通报、银行反馈、学生举报。"),
    )
    details = forms.CharField(
        label=_("卡片信息（加密保存）"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("卡号、开户行或运营商、收卡人等；只有有权限的角色查看时才显示，且留痕。"),
    )

    field_order = ["number", "card_kind", "involvement", "found_on", "source", "details"]
