"""Every form with a unit field lists a large scope's upper levels, not its thousands of units, and
still accepts any unit of the scope (``org.forms.UnitChoiceField.offer``): a province's 45,000 units
made such forms take seconds on the large world."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from fanzha.org import forms as org_forms
from fanzha.org import scope
from fanzha.org.models import Unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def few(monkeypatch):
    monkeypatch.setattr(org_forms, "MAX_SHOWN_UNITS", 4)  # the cast's university counts as large


def test_a_large_scope_lists_its_upper_levels_and_accepts_any_of_its_units(cast, few):
    units = scope.units_for(cast.school_admin)
    field = org_forms.UnitChoiceField(queryset=Unit.objects.none())
    shown = field.offer(units, empty="请选择")
    assert [u.code for u in shown] == ["UNI", "CS", "MA", "D1"]
    assert [value for value, _label in field.choices] == ["", *[u.pk for u in shown]]
    assert field.clean(str(cast.cs2301.pk)) == cast.cs2301  # not listed, still the user's to pick
    with pytest.raises(ValidationError):
        field.clean(str(cast.other.pk))  # another school's unit is not
    named = field.offer(units, cast.cs2301.pk)  # a link or a sent form names a deeper unit: listed too
    assert [u.code for u in named] == ["UNI", "CS", "CS2301", "MA", "D1"]


@pytest.mark.parametrize(
    "name", ["case_new", "case_quick", "learn_article_publish", "channel_create", "template_create"]
)
def test_forms_list_the_upper_levels(client, cast, few, name):
    client.force_login(cast.school_admin)
    page = client.get(reverse(name))
    assert page.status_code == 200
    select = re.search(r'<select[^>]* name="(?:unit|owner)".*?</select>', page.content.decode(), re.S)
    assert select is not None
    assert "计算机学院" in select.group(0) and "计科2301班" not in select.group(0)
