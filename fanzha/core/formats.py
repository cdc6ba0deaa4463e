"""How numbers read wherever the site shows them: one money format for pages, messages and documents.

Why: the same loss read "248888.07" on a dashboard and "35,200.00元" in an alert; a reader comparing
pages should never have to reformat a figure in their head."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def yuan(value: Any) -> str:
    """An amount in yuan with thousands separators and two decimals ("35,200.00"); "" for no value."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{amount:,.2f}"
