"""Request ids and the Content-Security-Policy header.

Why request ids: with several app servers behind a proxy, the id that nginx put on a request
(``X-Request-ID``) — or one made here — ties together the proxy's line, the access line and
every log record written while serving it, and the user can quote it from the response.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from fanzha.core.logging import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from the proxy: short, and nothing that could forge a log line or a header.
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def clean_request_id(value: str | None) -> str | None:
    """``value`` if it is a safe request id, else None."""
    if value and _SAFE_ID.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    """A fresh random id (32 hex digits, like nginx's ``$request_id``)."""
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Take the proxy's ``X-Request-ID`` (if safe) or make one; log records and the response carry it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = clean_request_id(request.META.get("HTTP_X_REQUEST_ID")) or new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class ContentSecurityPolicyMiddleware:
    """Send ``settings.FANZHA_CSP`` as the Content-Security-Policy of every response.

    Why not under DEBUG: Django's technical error pages use inline scripts and styles. The test
    settings run without DEBUG, so the whole suite and the browser tests run under the policy.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        policy = getattr(settings, "FANZHA_CSP", "")
        if policy and not settings.DEBUG and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
