"""The demo SMS page: what the demo's gateway kept, for the system administrator only.

It exists only while ``FANZHA_SMS_BACKEND=demo`` (404 otherwise), and only a superuser sees it
(404 for anyone else, like a missing page): every sign-in code of the demo is on it.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from fanzha.org.views import AuthedRequest

from ..models import DemoSms
from . import is_demo

SHOWN = 100


@never_cache
@login_required
def sms_demo(request: AuthedRequest) -> HttpResponse:
    """The newest messages first, each marked as the demo's (never really sent)."""
    if not is_demo() or not request.user.is_superuser:
        raise Http404
    messages = list(DemoSms.objects.order_by("-created_at", "-pk")[:SHOWN])
    return render(request, "notify/sms_demo.html", {"sms": messages, "shown": SHOWN})
