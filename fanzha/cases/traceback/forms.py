"""The trace-back's one form: the lessons and the correction asked for."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from fanzha.org.forms import Form

from . import actions


class LessonsForm(Form):
    lessons = forms.CharField(
        label=gettext_lazy("教训与整改"),
        required=False,
        max_length=actions.MAX_LESSONS,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
