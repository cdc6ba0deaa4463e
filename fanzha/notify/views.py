"""The user's in-app notifications: list them, mark them read. Thin: writes go through ``actions``.

A notification belongs to one user; anyone else's answers 404, like a missing one.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from fanzha.org.views import AuthedRequest

from . import actions
from .models import Notification

PAGE_SIZE = 30


@login_required
def notification_list(request: AuthedRequest) -> HttpResponse:
    """Unread first, then the newest."""
    unread_first = F("read_at").desc(nulls_first=True)  # NULL order differs between databases: say it
    qs = Notification.objects.filter(user=request.user).order_by(unread_first, "-created_at", "-pk")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    unread = Notification.objects.filter(user=request.user, read_at__isnull=True).count()
    return render(request, "notify/notification_list.html", {"page": page, "unread": unread})


@login_required
@require_POST
def notification_read(request: AuthedRequest, pk: int) -> HttpResponse:
    """Mark one notification read and follow its link (when it stays on this site)."""
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    actions.mark_read(request.user, [notification.pk])
    link = notification.link
    if request.POST.get("follow") and link and url_has_allowed_host_and_scheme(link, allowed_hosts=None):
        return redirect(link)
    return redirect("notification_list")


@login_required
@require_POST
def notification_read_all(request: AuthedRequest) -> HttpResponse:
    actions.mark_read(request.user)
    return redirect("notification_list")
