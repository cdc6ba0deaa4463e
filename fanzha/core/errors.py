"""Error pages in the user's language with a way back: 400, 403, 404 and 500.

Why our own handlers: Django's defaults show a bare English line, and a page that only says
"not found" leaves a phone user stranded. Each page offers the page the user came from (when it
is one of ours) and the home page. The 500 page renders without the request's context processors
or the database, which may be what failed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token

log = logging.getLogger(__name__)

# When even the error page cannot be drawn (static files or templates broken): a page without them.
PLAIN = (
    '<!doctype html><html lang="zh-hans"><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>反诈工作平台</title><h1>%(code)d</h1>"
    '<p>页面暂时无法显示。The page cannot be shown right now.</p><p><a href="/">首页 · Home</a></p>'
)


def _draw(template: str, context: dict[str, Any], status: int, request: HttpRequest | None) -> HttpResponse:
    body: str
    try:
        body = str(loader.render_to_string(template, context, request=request))
    except Exception:  # an error page must never fail in turn
        log.exception("error page %s could not be drawn", template)
        body = PLAIN % {"code": status}
    return HttpResponse(body, status=status)


def _back(request: HttpRequest) -> str:
    """The referring page when it is on this site (never another site's address), else ""."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        return referer
    return ""


def _render(request: HttpRequest, template: str, status: int, **context: Any) -> HttpResponse:
    return _draw(template, {"back": _back(request), **context}, status, request)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render(request, "errors/400.html", 400)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Our views refuse with a sentence of their own (already in the user's language): show it."""
    return _render(request, "errors/403.html", 403, reason=str(exception or ""))


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render(request, "errors/404.html", 404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without its token (an old page, cookies off, or another site's form)."""
    return _render(request, "errors/403_csrf.html", 403)


def server_error(request: HttpRequest) -> HttpResponse:
    """No request context here: whatever broke (the database …) must not break this page too."""
    return _draw("errors/500.html", {}, 500, None)
