"""Log filters and formatters: sensitive numbers blanked, request ids attached, JSON on request.

Why: sensitive numbers must never reach a log file, whatever a library or a careless
message puts there; query strings may carry sign-in tokens, so they are cut from every
URL in a message; and an operator running many app servers needs one JSON object per line,
each carrying the id of the request it belongs to, to follow one request through the logs.
"""

from __future__ import annotations

import json
import logging
import os
import re
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from gunicorn.glogging import Logger as _GunicornBaseLogger

_PATTERNS = [
    re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"),  # ID card
    re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),  # mobile
    re.compile(r"(?<!\d)\d{16,19}(?!\d)"),  # bank card
]
# The query string of anything shaped like a URL path: "/m/quiz/?token=abc" -> "/m/quiz/?[query]".
_QUERY = re.compile(r"(/[^\s?#\"'<>]*)\?[^\s\"'<>#]+")

# The id of the request being served by this thread (or task), "-" outside a request.
request_id_var: ContextVar[str] = ContextVar("fanzha_request_id", default="-")

# Extra attributes that the JSON formatter copies from a record when they are present.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")


def redact(text: str) -> str:
    """Replace sensitive numbers and URL query strings in text with placeholders."""
    for pattern in _PATTERNS:
        text = pattern.sub("[redacted]", text)
    return _QUERY.sub(r"\1?[query]", text)


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


class RequestIdFilter(logging.Filter):
    """Stamp each record with the current request's id unless the record already carries one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # django.request logs 4xx/5xx after the middleware has returned, with the request attached
            from_request = getattr(getattr(record, "request", None), "request_id", None)
            record.request_id = from_request or request_id_var.get()
        return True


class PlainFormatter(logging.Formatter):
    """One human-readable line per record, with the request id; tracebacks redacted too."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None) -> None:
        super().__init__(
            fmt or "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            datefmt,
            defaults={"request_id": "-"},
        )

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return redact(super().formatStack(stack_info))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (+ access fields, exc).

    Why: log collectors (Loki, ELK, Aliyun SLS) index fields without fragile parsing.
    """

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or "-",
        }
        for field in ACCESS_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                data[field] = value
        if record.exc_info:
            data["exc"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            data["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(data, ensure_ascii=False, default=str)


def log_format() -> str:
    """``json`` or ``plain``, from ``FANZHA_LOG_FORMAT`` (anything else is plain)."""
    return "json" if os.environ.get("FANZHA_LOG_FORMAT", "").strip().lower() == "json" else "plain"


def make_formatter(kind: str | None = None) -> logging.Formatter:
    """The formatter for ``kind`` (default: ``FANZHA_LOG_FORMAT``)."""
    return JsonFormatter() if (kind or log_format()) == "json" else PlainFormatter()


def _header(headers: Any, name: str) -> str | None:
    for key, value in headers or ():
        if key.lower() == name:
            return str(value)
    return None


class GunicornLogger(_GunicornBaseLogger):
    """Gunicorn's error and access logs in fanzha's format (``fanzha serve --logger-class``).

    Why: the access line is the one place that knows each request's status and duration; it
    must carry the request id, never the query string nor the client's address, and look like
    every other line so that one collector reads them all.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = make_formatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)
                handler.addFilter(RedactFilter())
                handler.addFilter(RequestIdFilter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        cfg = self.cfg
        if not (cfg.accesslog or cfg.logconfig or cfg.logconfig_dict or cfg.logconfig_json):
            return
        status = getattr(resp, "status_code", None)
        if status is None:
            status = int(str(resp.status).split()[0]) if resp.status else 0
        method = environ.get("REQUEST_METHOD", "-")
        path = environ.get("PATH_INFO") or "/"  # never QUERY_STRING
        duration_ms = round(request_time.total_seconds() * 1000, 1)
        self.access_log.info(
            "%s %s %s %sms",
            method,
            path,
            status,
            duration_ms,
            extra={
                "request_id": _header(getattr(resp, "headers", None), "x-request-id") or "-",
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
            },
        )
