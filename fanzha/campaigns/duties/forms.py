"""The office's form naming the person in charge of one duty (a member of the department unit)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from fanzha.org.models import Person


class AssignForm(forms.Form):
    person = forms.ModelChoiceField(
        label=gettext_lazy("责任人"),
        queryset=Person.objects.none(),
        required=False,
        empty_label=gettext_lazy("（未指定）"),
    )

    def __init__(self, *args: Any, members: list[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["person"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Person.objects.filter(pk__in=[p.pk for p in members]).order_by("pk")
