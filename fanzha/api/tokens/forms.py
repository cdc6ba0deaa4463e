"""The tokens page's form: the name of a new token. It validates only; ``actions`` writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fanzha.org.forms import Form


class NewTokenForm(Form):
    name = forms.CharField(
        label=_("用途"),
        max_length=60,
        help_text=_("写明哪个系统或脚本使用它，便于日后辨认和撤销，如“区教育局数据同步”。"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
