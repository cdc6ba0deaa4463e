"""Placeholder: being written."""

from __future__ import annotations

from typing import Any

from .models import Case


def panel(case: Case, user: Any) -> dict[str, Any]:
    """Context of the alert panel on the case page (template ``cases/_alert_panel.html``)."""
    return {}
