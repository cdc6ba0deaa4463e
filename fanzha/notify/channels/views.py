"""Chat-group robot (and e-mail) channels of units: list, add, edit, switch off and on, send a test.

Only people who may edit units (``Cap.EDIT_UNITS``) set up channels, and only for units in that
scope. A channel outside the user's sight answers 404 like a missing one; a visible channel of a
unit the user may only look at answers 403, and nothing changes. Writes go through ``actions``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fanzha.org.forms import apply_errors
from fanzha.org.models import UnitKind
from fanzha.org.scope import Cap, in_scope, scope_paths, units_for
from fanzha.org.views import AuthedRequest

from .. import actions, delivery, queries
from ..forms import ChannelForm
from ..models import Channel, Outbox

PAGE_SIZE = 50


def _require_editor(request: AuthedRequest) -> None:
    if not scope_paths(request.user, Cap.EDIT_UNITS):
        raise PermissionDenied


def _channel(request: AuthedRequest, pk: int) -> Channel:
    """A channel the user may change: 404 when out of sight, 403 when visible but read-only."""
    channel = get_object_or_404(queries.channels_for(request.user).select_related("unit"), pk=pk)
    if not in_scope(request.user, channel.unit, Cap.EDIT_UNITS):
        raise PermissionDenied
    return channel


@login_required
def channel_list(request: AuthedRequest) -> HttpResponse:
    """The channels of the units the user may edit, with each one's latest message."""
    _require_editor(request)
    channels = queries.with_last_message(
        queries.channels_for(request.user, Cap.EDIT_UNITS).select_related("unit")
    ).order_by("unit__path", "name", "pk")
    page = Paginator(channels, PAGE_SIZE).get_page(request.GET.get("page"))
    statuses = dict(Outbox.Status.choices)
    for channel in page:
        channel.last_status_label = statuses.get(channel.last_status, "")  # type: ignore[attr-defined]
    return render(request, "notify/channel_list.html", {"page": page})


@login_required
def channel_create(request: AuthedRequest) -> HttpResponse:
    _require_editor(request)
    units = units_for(request.user, Cap.EDIT_UNITS).exclude(kind=UnitKind.DORM_ROOM).order_by("path")
    initial = {}
    raw = request.GET.get("unit", "")
    if raw.isdigit():
        initial["unit"] = int(raw)
    form = ChannelForm(request.POST or None, units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            channel = actions.add_channel(
                unit=data["unit"],
                kind=data["kind"],
                name=data["name"],
                url=data["url"],
                secret=data["secret"],
                audience=data["audience"],
                keyword=data["keyword"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            done = _("已添加：%(name)s。可以发送一条测试消息确认能收到。") % {"name": channel.name}
            messages.success(request, done)
            return redirect("channel_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "notify/channel_form.html", {"form": form, "channel": None}, status=status)


@login_required
def channel_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    channel = _channel(request, pk)
    initial = {
        "kind": channel.kind,
        "name": channel.name,
        "audience": channel.audience,
        "keyword": channel.keyword,
    }
    form = ChannelForm(request.POST or None, channel=channel, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_channel(channel, **form.changes())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存：%(name)s") % {"name": form.cleaned_data["name"]})
            return redirect("channel_list")
    status = 400 if request.method == "POST" else 200
    return render(request, "notify/channel_form.html", {"form": form, "channel": channel}, status=status)


@login_required
@require_POST
def channel_disable(request: AuthedRequest, pk: int) -> HttpResponse:
    channel = actions.disable_channel(_channel(request, pk))
    messages.success(request, _("已停用：%(name)s") % {"name": channel.name})
    return redirect("channel_list")


@login_required
@require_POST
def channel_enable(request: AuthedRequest, pk: int) -> HttpResponse:
    channel = actions.enable_channel(_channel(request, pk))
    messages.success(request, _("已启用：%(name)s") % {"name": channel.name})
    return redirect("channel_list")


@login_required
@require_POST
def channel_test(request: AuthedRequest, pk: int) -> HttpResponse:
    """Queue a test message and send it at once; a failure is reported and not retried later."""
    channel = _channel(request, pk)
    try:
        row = actions.queue_test_message(channel, request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("channel_list")
    row = delivery.deliver_now(row, retry=False)
    if row.status == Outbox.Status.SENT:
        messages.success(request, _("测试消息已发送到“%(name)s”，请确认是否收到。") % {"name": channel.name})
    elif row.status == Outbox.Status.PENDING and row.not_before is not None:
        at = timezone.localtime(row.not_before).strftime("%H:%M:%S")
        messages.info(request, _("该机器人刚发送过较多消息，测试消息将在 %(at)s 自动发送。") % {"at": at})
    else:
        error = row.error_text or _("发送失败")
        messages.error(request, _("测试消息发送失败：%(error)s") % {"error": error})
    return redirect("channel_list")
