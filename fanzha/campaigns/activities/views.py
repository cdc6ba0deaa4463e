"""Activity pages: the list, the phone-first record form, detail with evidence and QR check-in, edits.

Thin: reads come from ``queries`` (the app's, scoped, and this package's), writes from ``actions``.
An activity outside the user's scope answers 404 like a missing one; a visible activity that the
user may not change answers 403 and nothing changes. Evidence is served here, after the same
check, and never from a public media URL.
"""

from __future__ import annotations

from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from fanzha.core import ratelimit
from fanzha.core.clientip import client_ip
from fanzha.core.downloads import upload_response
from fanzha.core.paging import paginate
from fanzha.org.credentials import actions as credentials
from fanzha.org.forms import apply_errors, shown_units
from fanzha.org.models import Unit
from fanzha.org.scope import in_scope, people_for, reached_only, units_for

from .. import compliance, queries
from ..models import Activity, ActivityKind, Evidence
from ..outreach.options import record_options
from . import actions
from . import files as activities_files
from . import queries as reads
from .forms import ActivityFilterForm, ActivityForm, AttendeeForm, CheckinForm, EvidenceForm

PAGE_SIZE = 50
# Failed check-ins allowed per link in the window, besides the member sign-in limits that the check-in
# shares with the class link (``org.credentials``: 5 per typed number, 10 per address, the person's
# lock), all counted in the store every worker shares. An address can be a whole campus behind one
# NAT and a link is shared by a whole class, so only failures count.
CHECKIN_FAILURES_PER_TOKEN = 50
CHECKIN_WINDOW = credentials.WINDOW


def _activity(request: HttpRequest, pk: int) -> Activity:
    """An activity in the user's scope, else 404."""
    return get_object_or_404(
        queries.activities_for(request.user).select_related("unit", "obligation__rule"), pk=pk
    )


def _activity_for_write(request: HttpRequest, pk: int) -> Activity:
    """An activity the user may change: 404 when invisible, 403 when visible but read-only."""
    activity = _activity(request, pk)
    if not in_scope(request.user, activity.unit, actions.RECORD):
        raise PermissionDenied
    return activity


def _record_units(user: Any) -> QuerySet[Unit]:
    return units_for(user, actions.RECORD).filter(is_active=True).order_by("path")


@login_required
def activity_list(request: HttpRequest) -> HttpResponse:
    """Activities in scope, newest first, filtered by unit (with its subtree), kind and month."""
    scoped = queries.activities_for(request.user)
    form = ActivityFilterForm(request.GET or None, units=reads.filter_units(request.user, scoped))
    activities = scoped
    if form.is_valid():
        data = form.cleaned_data
        if data["unit"]:
            activities = activities.filter(unit__path__startswith=data["unit"].path)
        if data["kind"]:
            activities = activities.filter(kind=data["kind"])
        bounds = reads.month_bounds(data["month"] or "")
        if bounds:
            activities = activities.filter(occurred_on__gte=bounds[0], occurred_on__lt=bounds[1])
    paged = paginate(request, reads.with_counts(activities).order_by("-occurred_on", "-id"), PAGE_SIZE)
    return render(
        request,
        "campaigns/activity_list.html",
        {
            "form": form,
            "paged": paged,
            "filtered": form.is_valid() and any(form.cleaned_data.values()),
            "can_record": units_for(request.user, actions.RECORD).exists(),
        },
    )


def _record_form(request: HttpRequest, activity: Activity | None = None, **kwargs: Any) -> ActivityForm:
    units = _record_units(request.user)
    keep = activity.obligation_id if activity else None
    named = str((kwargs.get("data") or {}).get("unit") or (kwargs.get("initial") or {}).get("unit") or "")
    extra = int(named) if named.isdigit() else None
    shown = shown_units(units, extra)
    return ActivityForm(
        units=units,
        unit_list=shown,
        obligations=reads.obligation_choices(request.user, units, keep),
        options=record_options(shown),
        **kwargs,
    )


@login_required
def activity_record(request: HttpRequest) -> HttpResponse:
    """One screen to record an activity with its photos; 403 for a user who may record nowhere."""
    if not units_for(request.user, actions.RECORD).exists():
        raise PermissionDenied
    if request.method == "POST":
        form = _record_form(request, data=request.POST, files=request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                activity = actions.record_activity(
                    unit=data["unit"],
                    kind=data["kind"],
                    occurred_on=data["occurred_on"],
                    title=data["title"],
                    summary=data["summary"],
                    link=data["link"],
                    attendance_count=data["attendance_count"],
                    obligation=data["obligation"],
                    files=data["uploads"],
                    actor=request.user,
                    **form.reach(),
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("活动已记录。"))
                _warn_standing(request, activity)
                return redirect("activity_detail", pk=activity.pk)
        return render(request, "campaigns/activity_form.html", {"form": form, "creating": True}, status=400)
    # Links from the home page and obligation pages name the unit, the obligation and its kind.
    initial: dict[str, Any] = {}
    for name in ("unit", "obligation"):
        raw = request.GET.get(name, "")
        if raw.isdigit():
            initial[name] = int(raw)
    kind = request.GET.get("kind", "")
    if kind in ActivityKind.values:
        initial["kind"] = kind
    return render(
        request,
        "campaigns/activity_form.html",
        {"form": _record_form(request, initial=initial), "creating": True},
    )


# Images that every browser shows; HEIC (iPhone photos) and documents get a file tile instead.
SHOWN_IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


def _with_display(evidence: list[Evidence]) -> list[Evidence]:
    """Mark each file with how the page shows it: an image, a video player or a file tile."""
    labels = {t.content_type: t.label for t in activities_files.FILE_TYPES.values()}
    for ev in evidence:
        ev.display = (  # type: ignore[attr-defined]
            "image"
            if ev.content_type in SHOWN_IMAGES
            else "video"
            if ev.kind == Evidence.Kind.VIDEO
            else "file"
        )
        ev.type_label = labels.get(ev.content_type, ev.content_type)  # type: ignore[attr-defined]
    return evidence


def _qr_svg(url: str) -> str:
    """The check-in link as an inline SVG QR code (no image request, no external service)."""
    return segno.make(url, error="m").svg_inline(scale=6, border=2, dark="#14325c", omitsize=True)


@login_required
def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An activity with its evidence, attendees, history and (for its recorders) the check-in code."""
    activity = _activity(request, pk)
    can_edit = in_scope(request.user, activity.unit, actions.RECORD)
    attendances = activity.attendances.select_related("person").order_by("at", "pk")
    if reached_only(request.user, activity.unit):  # a room reached through one's students: only them
        attendances = attendances.filter(person__in=people_for(request.user))
    context: dict[str, Any] = {
        "activity": activity,
        "can_edit": can_edit,
        "evidence": _with_display(list(activity.evidence.all())),
        "attendances": list(attendances),
        "history": reads.history(activity),
        "standing": compliance.standing(activity),
        "reach": _reach_facts(activity),
    }
    if can_edit:
        context["evidence_form"] = EvidenceForm()
        context["attendee_form"] = AttendeeForm()
        if actions.checkin_open(activity):
            url = request.build_absolute_uri(reverse("activity_checkin", args=[activity.checkin_token]))
            context["checkin_url"] = url
            context["checkin_qr"] = mark_safe(_qr_svg(url))  # noqa: S308 - segno's own SVG markup
            context["checkin_deadline"] = actions.checkin_deadline(activity)
    return render(request, "campaigns/activity_detail.html", context)


def _reach_facts(activity: Activity) -> dict[str, str] | None:
    """An outreach record's groups and channel by their names (from the campaigns over its unit)."""
    if not (activity.target_groups or activity.channel):
        return None
    options = record_options([activity.unit])
    groups = {g.code: g.name for g in options.groups}
    channels = {c.code: c.name for c in options.channels}
    return {
        "groups": "、".join(groups.get(code, "—") for code in activity.target_groups) or "—",
        "channel": channels.get(activity.channel, "—") if activity.channel else "—",
        "by_place": "yes" if options.by_place else "",
    }


def _warn_standing(request: HttpRequest, activity: Activity) -> None:
    """Tell the recorder at once when the record will count as late or does not count for lack of evidence."""
    found = compliance.standing(activity)
    if found is None:
        return
    missing = "、".join(str(m) for m in found.missing)
    if found.counts_late and found.period is not None:
        messages.warning(
            request,
            _("该周期已于 %(end)s 结束，这条记录计为逾期完成。") % {"end": found.period.end.isoformat()},
        )
    elif not found.counts and found.late:
        messages.warning(
            request,
            _("还缺少：%(missing)s。补齐之前，这条记录不计入完成情况；补齐后计为逾期完成。")
            % {"missing": missing},
        )
    elif not found.counts:
        messages.warning(
            request,
            _("还缺少：%(missing)s。补齐之前，这条记录不计入完成情况。") % {"missing": missing},
        )


@login_required
def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change an activity; the previous state is kept in its history."""
    activity = _activity_for_write(request, pk)
    if request.method == "POST":
        form = _record_form(request, activity, data=request.POST, with_files=False)
        if form.is_valid():
            try:
                actions.edit_activity(activity, form.changes(), request.user)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("修改已保存，原内容保留在修改记录中。"))
                return redirect("activity_detail", pk=activity.pk)
        status = 400
    else:
        initial = {
            "unit": activity.unit_id,
            "kind": activity.kind,
            "occurred_on": activity.occurred_on,
            "title": activity.title,
            "summary": activity.summary,
            "link": activity.link,
            "attendance_count": activity.attendance_count,
            "obligation": activity.obligation_id,
            "target_groups": activity.target_groups,
            "channel": activity.channel,
            "area": activity.area,
            "materials_count": activity.materials_count,
        }
        form = _record_form(request, activity, initial=initial, with_files=False)
        status = 200
    return render(
        request,
        "campaigns/activity_form.html",
        {"form": form, "activity": activity, "creating": False},
        status=status,
    )


@login_required
@require_POST
def activity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove an activity from the lists (it stays in the database with its history)."""
    activity = _activity_for_write(request, pk)
    actions.delete_activity(activity, request.user)
    messages.success(request, _("活动记录“%(title)s”已删除。") % {"title": activity.title})
    return redirect("activity_list")


@login_required
@require_POST
def activity_add_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """Add more photos, videos or documents to an activity."""
    activity = _activity_for_write(request, pk)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        added = 0
        for upload in form.cleaned_data["attachments"]:
            try:
                actions.add_evidence(activity, upload, request.user)
                added += 1
            except ValidationError as exc:
                for text in exc.messages:
                    messages.error(request, text)
        if added:
            messages.success(request, _("已添加 %(n)s 个文件。") % {"n": added})
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect("activity_detail", pk=activity.pk)


@login_required
@require_POST
def activity_add_attendee(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a present member by number, for someone who could not scan the code."""
    activity = _activity_for_write(request, pk)
    form = AttendeeForm(request.POST)
    if form.is_valid():
        number = form.cleaned_data["number"].strip()
        person = (
            people_for(request.user)
            .filter(root__path=activity.unit.root_path, external_number=number)
            .first()
        )
        if person is None:
            messages.error(request, _("没有找到学号/工号为 %(number)s 的人员。") % {"number": number})
        else:
            try:
                added = actions.add_attendees(activity, [person], request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                if added:
                    messages.success(request, _("已登记 %(name)s 参加。") % {"name": person.name})
                else:  # never "registered" again for someone already on the list
                    messages.info(request, _("%(name)s 已在签到名单上。") % {"name": person.name})
    else:  # a blank number (spaces pass the browser's "required") is said, not silently dropped
        messages.error(request, _("请填写学号/工号。"))
    return redirect("activity_detail", pk=activity.pk)


@login_required
def activity_remove_attendee(request: HttpRequest, pk: int, person: int) -> HttpResponse:
    """Take someone entered by mistake off the list; what only their attendance proved is withdrawn.

    GET (and a POST without ``confirm``: an old page, a double tap) asks first, as deleting a grant
    does: removing withdraws what the attendance proved (a training attended), so it is never one tap.
    """
    activity = _activity_for_write(request, pk)
    found = get_object_or_404(people_for(request.user), pk=person)
    attendance = get_object_or_404(activity.attendances, person=found)
    if request.method != "POST" or not request.POST.get("confirm"):
        return render(
            request,
            "campaigns/activity_remove_attendee.html",
            {"activity": activity, "attendance": attendance, "person": found},
        )
    try:
        if actions.remove_attendee(activity, found, request.user):
            messages.success(request, _("已将 %(name)s 移出签到名单。") % {"name": found.name})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("activity_detail", pk=activity.pk)


@login_required
def evidence_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    """One evidence file, after the same scope check as its activity; never cached by shared caches.
    Photos are shown inline; a PDF, an office file or a video is a download (``core.downloads``)."""
    evidence = get_object_or_404(
        Evidence.objects.filter(activity__in=queries.activities_for(request.user)), pk=pk
    )
    # The type was checked from the content on upload.
    return upload_response(evidence.file.open("rb"), evidence.content_type, evidence.original_name)


# Check-in (members, no login) --------------------------------------------------------------------


def _limited(request: HttpRequest, seconds: int = CHECKIN_WINDOW) -> HttpResponse:
    return render(
        request, "campaigns/checkin_closed.html", {"reason": "limited", "minutes": seconds // 60}, status=429
    )


@sensitive_post_parameters("code")
@never_cache
def activity_checkin(request: HttpRequest, token: str) -> HttpResponse:
    """The page a member's phone opens from the QR code: student number and personal sign-in code."""
    address = credentials.ADDRESS_LIMIT.bucket(client_ip(request))
    by_link = ratelimit.Limit("checkin-token", CHECKIN_FAILURES_PER_TOKEN, CHECKIN_WINDOW).bucket(token[:64])
    if ratelimit.exceeded(address, by_link):
        return _limited(request)
    activity = actions.find_checkin_activity(token)
    if activity is None:
        if request.method == "POST":
            ratelimit.hit(address)
        return render(request, "campaigns/checkin_closed.html", {"reason": "invalid"}, status=404)
    if not actions.checkin_open(activity):
        return render(
            request, "campaigns/checkin_closed.html", {"reason": "expired", "activity": activity}, status=410
        )
    form = CheckinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["number"]
        by_number = credentials.number_bucket(activity.unit.root_path, number)
        if ratelimit.exceeded(by_number):
            return _limited(request)
        try:
            attendance = actions.check_in(activity, token, number, form.cleaned_data["code"])
        except ValidationError as exc:
            if exc.code == "locked":
                return _limited(request, credentials.PERSON_LIMIT.window)
            ratelimit.hit(address, by_link, by_number)
            form.add_error(None, exc)
        else:
            return render(
                request,
                "campaigns/checkin_done.html",
                {
                    "activity": activity,
                    "name": attendance.person.name,
                    "at": timezone.localtime(attendance.at),
                },
            )
    status = 400 if form.errors else 200
    return render(request, "campaigns/checkin.html", {"activity": activity, "form": form}, status=status)
