"""Template filters every template has without ``{% load %}`` (registered as a builtin in settings)."""

from __future__ import annotations

from typing import Any

from django import template

from fanzha.core.formats import yuan as _yuan

register = template.Library()


@register.filter
def yuan(value: Any) -> str:
    """``{{ case.total_loss|yuan }}`` → 35,200.00 (see ``core.formats.yuan``)."""
    return _yuan(value)
