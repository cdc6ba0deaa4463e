"""The stop-payment alert pages: the list for the police side and the security office, one alert with
its money trail, contacts and outcome, and the compact panel of the case page.

Thin: reads come from ``queries`` (scope), writes from ``actions``. An alert outside the user's
scope answers 404 like a missing one; a visible alert that the user may not act on (not the police
side) answers 403 on every write and nothing changes. Police open these pages from the link in the
message, on a phone: tables stack, the countdown is a ``<time data-deadline>`` that
``cases/countdown.js`` keeps running (no inline script).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case as CaseWhen
from django.db.models import Exists, IntegerField, OuterRef, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from fanzha.core.paging import paginate
from fanzha.notify.models import ChannelKind
from fanzha.org.forms import apply_errors
from fanzha.org.scope import Cap, scope_paths

from ..freeze import queries as freeze_queries
from ..freeze import views as freeze_views
from ..models import Alert, AlertRecipient, Case, CaseEvent, CaseState, Outcome, Side
from ..queries import alerts_for, can
from . import actions
from .actions import alert_stats  # re-exported: the statistics pages import it from here too
from .forms import AckForm, OutcomeForm

__all__ = ["alert_stats", "panel"]

PAGE_SIZE = 50
ALL = "all"  # the list's filter value for every alert, ended ones too (the default hides those)
ALERT_EVENTS = (
    CaseEvent.Kind.ALERT_SENT,
    CaseEvent.Kind.ESCALATED,
    CaseEvent.Kind.ACKNOWLEDGED,
    CaseEvent.Kind.OUTCOME,
)


# Display helpers -------------------------------------------------------------------------------------


def human_duration(seconds: float | None) -> str:
    """``75`` → ``1分15秒``; ``None`` → ``—``."""
    if seconds is None:
        return "—"
    total = max(int(round(seconds)), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)d小时%(m)02d分") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d分%(s)02d秒") % {"m": minutes, "s": secs}
    return _("%(s)d秒") % {"s": secs}


def _clock(seconds: float) -> str:
    total = max(int(seconds), 0)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def countdown(case: Case, now: datetime | None = None) -> dict[str, Any] | None:
    """The stop-payment countdown of a case as the page first shows it (the script keeps it running)."""
    deadline = actions.stop_payment_deadline(case)
    if deadline is None:
        return None
    now = now or timezone.now()
    left = (deadline - now).total_seconds()
    prefix = _("剩余")
    return {
        "deadline": deadline,
        "iso": deadline.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),  # what every browser parses
        "expired": left <= 0,
        "text": _("已超过止付黄金时间") if left <= 0 else f"{prefix} {_clock(left)}",
        "last_transfer_at": case.last_transfer_at,
    }


def _late(alert: Alert, now: datetime) -> bool:
    """Acknowledged after the limit, or still open past it."""
    limit = actions._escalate_minutes()
    if alert.acknowledged_at is not None:
        return alert.acknowledged_at - alert.raised_at > limit
    return alert.status == Alert.Status.OPEN and now - alert.raised_at > limit


def _alert(request: HttpRequest, pk: int) -> Alert:
    """An alert in the user's scope, else 404."""
    return get_object_or_404(
        alerts_for(request.user, Cap.CASE_VIEW).select_related("case__unit", "acknowledged_by"), pk=pk
    )


def _case_url(case: Case) -> str:
    """The case page, when the case pages are mounted (they are another part of the ledger)."""
    try:
        return reverse("case_detail", args=[case.pk])
    except NoReverseMatch:
        return ""


# Pages -----------------------------------------------------------------------------------------------


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    """Alerts in scope, open ones first, with the countdown, time to alert and time to acknowledge."""
    if not scope_paths(request.user, Cap.CASE_VIEW):
        raise PermissionDenied
    now = timezone.now()
    scoped = alerts_for(request.user, Cap.CASE_VIEW)
    status = request.GET.get("status", "")
    if status in Alert.Status.values:
        shown = scoped.filter(status=status)
    elif status == ALL:
        shown = scoped
    else:  # the police queue: alerts whose case is still open (closing a case ends its alert)
        status = ""
        shown = scoped.exclude(status=Alert.Status.ENDED)
    edited = CaseEvent.objects.filter(case=OuterRef("case_id"), kind=CaseEvent.Kind.EDITED)
    ordered = (
        shown.select_related("case__unit", "acknowledged_by")
        .annotate(
            rank=CaseWhen(
                When(status=Alert.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            edited=Exists(edited),
        )
        .order_by("rank", "-raised_at", "-pk")
    )
    paged = paginate(request, ordered, PAGE_SIZE)
    rows = [
        {
            "alert": a,
            "case": a.case,
            "countdown": countdown(a.case, now) if a.status == Alert.Status.OPEN else None,
            "to_alert": human_duration(a.seconds_to_alert),
            "to_ack": human_duration(a.seconds_to_ack),
            "late": _late(a, now),
            "unverified": actions.unverified(a.case.reported_via, a.case.state, a.edited),
        }
        for a in paged.page
    ]
    stats = alert_stats(scoped)
    figures = {
        "alert_median": human_duration(stats["alert_median"]),
        "alert_p90": human_duration(stats["alert_p90"]),
        "ack_median": human_duration(stats["ack_median"]),
        "ack_p90": human_duration(stats["ack_p90"]),
    }
    return render(
        request,
        "cases/alert_list.html",
        {
            "rows": rows,
            "paged": paged,
            "stats": stats,
            "figures": figures,
            "status": status,
            "statuses": Alert.Status.choices,
            "all": ALL,
            "limit_minutes": int(stats["limit_seconds"] // 60),
            "can_list_freeze": freeze_queries.can_list(request.user),
        },
    )


def _recipient_rows(alert: Alert) -> list[dict[str, Any]]:
    """Who was told, per tier: the person or chat group, the channel and whether it went out."""
    labels = dict(ChannelKind.choices)
    reasons = dict(AlertRecipient.Reason.choices)
    tiers: dict[int, list[dict[str, Any]]] = {}
    for r in AlertRecipient.objects.filter(alert=alert).select_related("user", "outbox__channel"):
        if r.user is not None:
            who = r.user.first_name or r.user.username
        elif r.outbox is not None and r.outbox.channel is not None:
            who = r.outbox.channel.name
        else:
            who = "—"
        tiers.setdefault(r.tier, []).append(
            {
                "who": who,
                "reason": reasons.get(r.reason, "") if r.reason else "",
                "channel": labels.get(r.channel_kind, r.channel_kind),
                "status": r.outbox.status if r.outbox else "",
                # With the reason when it did not go out, e.g. "未发送：未配置短信网关" (never "sent").
                "status_label": r.outbox.status_text if r.outbox else _("已删除"),
                "sent_at": r.outbox.sent_at if r.outbox else None,
                "at": r.at,
            }
        )
    return [{"tier": t + 1, "rows": rows} for t, rows in sorted(tiers.items())]


def _event_text(event: CaseEvent) -> str:
    d = event.detail or {}
    if event.kind == CaseEvent.Kind.ALERT_SENT:
        if d.get("no_contacts"):
            text = _("预警已发出，但没有找到警务联络员、保卫处或学校管理员")
        else:
            text = _("预警已发出：第1级，%(n)d条消息") % {"n": d.get("recipients", 0)}
        if d.get("counsellor"):
            text += _("；已同时告知学生的辅导员（%(n)d条消息）") % {"n": d["counsellor"]}
        return text
    if event.kind == CaseEvent.Kind.ESCALATED:
        if d.get("final"):
            return _("无人确认，再次通知第%(t)d级（最后一级）") % {"t": d.get("tier", 0) + 1}
        return _("无人确认，升级通知第%(t)d级：%(n)d条消息") % {
            "t": d.get("tier", 0) + 1,
            "n": d.get("recipients", 0),
        }
    if event.kind == CaseEvent.Kind.ACKNOWLEDGED:
        text = _("警方确认接警，用时%(d)s") % {"d": human_duration(d.get("seconds"))}
        return text + (_("（超时）") if d.get("late") else "")
    if event.kind == CaseEvent.Kind.OUTCOME:
        return _("登记止付结果：冻结%(f)s元，追回%(r)s元") % {
            "f": d.get("frozen", "0"),
            "r": d.get("recovered", "0"),
        }
    if event.kind == CaseEvent.Kind.STATE and event.state_after == CaseState.CLOSED:
        return _("案件结案，预警结束")
    return str(event.get_kind_display())


def _ended_reason(alert: Alert, case: Case) -> str:
    """Why an ended alert ended, in words: the case's closing, when and with what result."""
    if alert.status != Alert.Status.ENDED:
        return ""
    outcome = Outcome(case.outcome).label if case.outcome in Outcome.values else "—"
    when = timezone.localtime(case.closed_at or alert.ended_at or timezone.now()).strftime("%Y-%m-%d %H:%M")
    return _("预警已结束：案件已于%(when)s结案（结果：%(outcome)s），预警不再升级，也无需再确认。") % {
        "when": when,
        "outcome": outcome,
    }


def _detail_context(request: HttpRequest, alert: Alert, **extra: Any) -> dict[str, Any]:
    case = alert.case
    now = timezone.now()
    can_police = can(request.user, case, Cap.CASE_POLICE)
    closing = Q(kind=CaseEvent.Kind.STATE, state_after=CaseState.CLOSED)
    events = [
        {"event": e, "text": _event_text(e)}
        for e in case.events.filter(Q(kind__in=ALERT_EVENTS) | closing)
        .select_related("actor")
        .order_by("at", "pk")
    ]
    context: dict[str, Any] = {
        "alert": alert,
        "case": case,
        "unit_label": actions.unit_label(case.unit),
        "countdown": countdown(case, now),
        "transfers": list(case.transfers.all()),
        "suspects": list(case.indicators.filter(side=Side.SUSPECT).order_by("kind", "pk")),
        "tiers": _recipient_rows(alert),
        "events": events,
        "to_alert": human_duration(alert.seconds_to_alert),
        "to_ack": human_duration(alert.seconds_to_ack),
        "late": _late(alert, now),
        "can_ack": can_police and alert.status == Alert.Status.OPEN,
        "can_outcome": can_police and alert.status in (Alert.Status.ACKNOWLEDGED, Alert.Status.RESOLVED),
        "ended": _ended_reason(alert, case),
        "unverified": actions.is_unverified(case),
        "case_url": _case_url(case),
        "limit_minutes": int(actions._escalate_minutes().total_seconds() // 60),
        "fz": freeze_views.section(case, request.user),
    }
    if context["can_ack"]:
        context.setdefault("ack_form", AckForm())
    if context["can_outcome"]:
        context["outcome_form"] = OutcomeForm(
            initial={
                "frozen_amount": case.frozen_amount,
                "recovered_amount": case.recovered_amount,
                "note": alert.outcome_note,
            }
        )
    context.update(extra)
    return context


@login_required
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One alert: the transfers with the payee accounts, the suspect's numbers, the countdown, who was
    told at each tier and how, and (for the police side) acknowledge and outcome."""
    alert = _alert(request, pk)
    return render(request, "cases/alert_detail.html", _detail_context(request, alert))


def _back(request: HttpRequest, alert: Alert) -> HttpResponse:
    """Back where the form was (the case page's panel or the alert page); only to this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("alert_detail", pk=alert.pk)


@login_required
def alert_ack(request: HttpRequest, pk: int) -> HttpResponse:
    """The police side takes the alert (POST); escalation stops."""
    if request.method != "POST":
        return redirect("alert_detail", pk=pk)
    alert = _alert(request, pk)
    form = AckForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        actions.acknowledge_alert(alert, request.user, note=note)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已确认接警，预警不再升级。请尽快登记止付结果。"))
    return _back(request, alert)


@login_required
def alert_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the amounts frozen and recovered (POST, police side, after acknowledging)."""
    if request.method != "POST":
        return redirect("alert_detail", pk=pk)
    alert = _alert(request, pk)
    form = OutcomeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.record_alert_outcome(
                alert, request.user, data["frozen_amount"], data["recovered_amount"], data["note"]
            )
        except ValidationError as exc:
            if alert.status in (Alert.Status.OPEN, Alert.Status.ENDED):  # no outcome form: say why
                messages.error(request, " ".join(exc.messages))
                return redirect("alert_detail", pk=alert.pk)
            apply_errors(form, exc)
        else:
            messages.success(request, _("止付结果已登记。"))
            return redirect("alert_detail", pk=alert.pk)
    elif not can(request.user, alert.case, Cap.CASE_POLICE):
        raise PermissionDenied
    context = _detail_context(request, alert)
    if context["can_outcome"]:
        context["outcome_form"] = form
    return render(request, "cases/alert_detail.html", context, status=400)


# The case page's panel -------------------------------------------------------------------------------


def panel(case: Case, user: Any) -> dict[str, Any]:
    """Context of the alert panel on the case page (template ``cases/_alert_panel.html``, as ``p``):
    status, countdown, times, the freeze requests' times, and the acknowledge button for the police side."""
    alert = Alert.objects.filter(case=case).select_related("acknowledged_by").first()
    if alert is None:
        return {"alert": None}
    alert.case = case
    now = timezone.now()
    return {
        "alert": alert,
        "countdown": countdown(case, now) if alert.status == Alert.Status.OPEN else None,
        "to_alert": human_duration(alert.seconds_to_alert),
        "to_ack": human_duration(alert.seconds_to_ack),
        "late": _late(alert, now),
        "frozen": case.frozen_amount,
        "recovered": case.recovered_amount,
        "can_ack": alert.status == Alert.Status.OPEN and can(user, case, Cap.CASE_POLICE),
        "unverified": actions.is_unverified(case),
        "detail_url": reverse("alert_detail", args=[alert.pk]),
        "ack_url": reverse("alert_ack", args=[alert.pk]),
        "freeze": freeze_views.figures_view(requests)
        if (requests := freeze_queries.case_requests(case))
        else None,
    }
