"""After a reset or a temporary password, every page leads to "choose a new password" until done.

Why a middleware and not a check at sign-in: the demand must hold on every request of the session
(a bookmark, the back button, a second tab), and end the moment the password is changed. Only the
pages needed to do it (change the password, sign out, switch the language) stay reachable; the
REST API answers 403 with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

ALLOWED = frozenset(
    {"account_password_change", "logout", "set_language", "healthz", "account_welcome", "account_reset_link"}
)


class PasswordChangeRequiredMiddleware:
    """Sends a user whose account says ``must_change_password`` to the change-password page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not getattr(user, "must_change_password", False):
            return None
        match = request.resolver_match
        if match is not None and match.url_name in ALLOWED:
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": _("请先在网页上修改密码。")}, status=403)
        return redirect("account_password_change")
