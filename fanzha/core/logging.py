"""A log filter that blanks anything shaped like a phone, ID-card or bank-card number.

Why: sensitive numbers must never reach a log file, whatever a library or a careless
message puts there.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"),  # ID card
    re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),  # mobile
    re.compile(r"(?<!\d)\d{16,19}(?!\d)"),  # bank card
]


def redact(text: str) -> str:
    """Replace sensitive numbers in text with a placeholder."""
    for pattern in _PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


class RedactFilter(logging.Filter):
    """Rewrite the formatted message of every record with sensitive numbers removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not kill logging
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
