"""Forms of the alert pages: the police's acknowledgement and the outcome. They validate input;
``actions`` writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from fanzha.org.forms import Form


class AckForm(Form):
    note = forms.CharField(label=gettext_lazy("备注"), max_length=300, required=False)


class OutcomeForm(Form):
    """Amounts stay text here: ``actions.parse_amount`` reads "1,200元" and names the field at fault."""

    frozen_amount = forms.CharField(
        label=gettext_lazy("止付冻结金额（元）"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    recovered_amount = forms.CharField(
        label=gettext_lazy("追回金额（元）"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    note = forms.CharField(label=gettext_lazy("处置说明"), max_length=300, required=False)
