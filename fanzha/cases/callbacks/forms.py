"""What the callback page posts; never written here (``actions``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from fanzha.org.forms import Form

from ..models import CallbackOutcome


class CallbackForm(Form):
    outcome = forms.ChoiceField(label=_("回访结果"), choices=CallbackOutcome.choices)
    note = forms.CharField(label=_("备注"), required=False, max_length=300)
