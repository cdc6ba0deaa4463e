"""Walked at 390 px (issue 14): a form's textarea ran to the card's edge (its 40 columns) and its
date-time field stayed narrow; the site's stylesheet sizes them as the form's other fields."""

from __future__ import annotations

import re

from django.contrib.staticfiles import finders


def test_form_textareas_and_date_fields_are_as_wide_as_the_other_fields() -> None:
    path = finders.find("fanzha/app.css")
    assert path
    css = open(path, encoding="utf-8").read()
    rule = re.search(r"\.form textarea,[^{]*\{([^}]*)\}", css)
    assert rule is not None
    assert 'input[type="datetime-local"]' in rule.group(0)
    assert "width: 100%" in rule.group(1) and "max-width: 28rem" in rule.group(1)
