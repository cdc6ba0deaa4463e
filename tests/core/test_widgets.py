"""``core.widgets.LongSelect`` draws the same select as Django's, without a template per option."""

from __future__ import annotations

import re

from django import forms

from fanzha.core.widgets import LongSelect

CHOICES = [("", "请选择"), (1, "计科 <2301> 班"), (2, "“宿舍” & 楼"), (3, "三")]
OPTION = re.compile(r'<option value="([^"]*)"( selected)?>([^<]*)</option>')


def options(html: str) -> list[tuple[str, bool, str]]:
    return [(value, bool(selected), label) for value, selected, label in OPTION.findall(html)]


def field_html(widget: type[forms.Select], value: object) -> str:
    class F(forms.Form):
        unit = forms.ChoiceField(choices=CHOICES, widget=widget)

    return str(F({"unit": value})["unit"]) if value is not None else str(F()["unit"])


def test_the_options_and_the_choice_are_those_of_djangos_select():
    for value in (None, "2", "9"):
        mine, django = field_html(LongSelect, value), field_html(forms.Select, value)
        assert options(mine) == options(django)
        assert len(options(mine)) == len(CHOICES)
    assert ("2", True, "“宿舍” &amp; 楼") in options(field_html(LongSelect, "2"))


def test_labels_are_escaped_and_the_attributes_kept():
    html = field_html(LongSelect, "1")
    assert "<2301>" not in html and "&lt;2301&gt;" in html
    assert re.match(r'<select [^>]*name="unit"', html)
    assert 'id="id_unit"' in html and " required" in html
