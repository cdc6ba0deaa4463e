"""A student reports their own case from the phone pages (``/m/<token>/report/``).

Why here and so short: a victim reports while the money is still moving, so the form asks only
what the stop-payment needs (what, when, which transfers to whom, the fraudster's numbers) and
the report raises the alert at once (``actions.report_case`` with ``via=SELF``). The member is
the victim, the unit their class. A guardian signed in with their phone reports nothing here:
they are told to call 110 / 96110 and the school. One member files at most
``FANZHA_SELF_REPORTS_PER_DAY`` reports in 24 hours (``member.actions``); beyond it the page says
calmly that the counsellor has the earlier report and shows 110 / 96110.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters

from fanzha.reach.member.views import Member, member_required, page_context

from .. import queries
from ..intake import CaseInput, TransferIn
from ..models import CaseState, ContactChannel, FraudKind
from . import actions
from .forms import MemberReportForm, MemberTransferFormSet

TRANSFER_PREFIX = "tr"


def _ctx(member: Member, **extra: object) -> dict[str, object]:
    return page_context(member, member.link, **extra)


@sensitive_post_parameters()
@member_required
def report(request: HttpRequest, member: Member) -> HttpResponse:
    """The self-report form; a submit raises the alert and leads to what to do now."""
    if member.is_guardian:
        return render(request, "cases/member_report_guardian.html", _ctx(member))
    if request.method != "POST" and actions.reports_left(member.person) <= 0:
        return _enough(request, member, status=200)
    if request.method != "POST":
        form = MemberReportForm(initial={"submit_token": secrets.token_urlsafe(24)})
        transfers = MemberTransferFormSet(prefix=TRANSFER_PREFIX)
        return render(request, "cases/member_report.html", _ctx(member, form=form, transfers=transfers))
    form = MemberReportForm(request.POST)
    transfers = MemberTransferFormSet(request.POST, prefix=TRANSFER_PREFIX)
    errors: list[str] = []
    if form.is_valid() and transfers.is_valid():
        d = form.cleaned_data
        rows = [
            TransferIn(
                at=t.get("at"),
                amount=t.get("amount") or "",
                method=t.get("method") or "",
                to_account=t.get("to_account") or "",
            )
            for t in (getattr(f, "cleaned_data", {}) or {} for f in transfers.forms)
        ]
        data = CaseInput(
            unit=member.link.unit,
            victim=member.person,
            victim_name=member.person.name,
            occurred_at=d.get("occurred_at") or _earliest(rows) or timezone.now(),
            channel=d.get("channel") or ContactChannel.OTHER,
            fraud_type=d.get("fraud_type") or FraudKind.OTHER,
            narrative=d.get("narrative") or "",
            transfers=rows,
            indicators=form.indicators(),
        )
        raw = "".join(ch for ch in (d.get("submit_token") or "") if ch.isalnum() or ch in "-_")[:40]
        try:
            case = actions.report_own_case(
                data, member.person, submit_token=f"m{member.person.pk}:{raw}" if raw else ""
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "too_many":
                return _enough(request, member, status=429)
            if hasattr(exc, "error_dict"):
                for key, messages in exc.message_dict.items():
                    if key in form.fields:
                        form.add_error(key, messages)
                    else:
                        errors.extend(messages)
            else:
                errors.extend(exc.messages)
        else:
            return redirect("member_report_done", token=member.link.token, pk=case.pk)
    context = _ctx(member, form=form, transfers=transfers, errors=errors)
    return render(request, "cases/member_report.html", context, status=400)


def _enough(request: HttpRequest, member: Member, status: int) -> HttpResponse:
    """The calm refusal beyond the daily limit: the earlier report is with the counsellor; 110 / 96110."""
    context = _ctx(member, limit=settings.FANZHA_SELF_REPORTS_PER_DAY)
    return render(request, "cases/member_report_limit.html", context, status=status)


def _earliest(rows: list[TransferIn]) -> datetime | None:
    """The first transfer's time, for a start the member left empty. A transfer typed in the future is
    left out: its own row says what is wrong, and the empty start field must not."""
    now = timezone.now()
    times = [r.at for r in rows if r.at is not None and r.at <= now]
    return min(times) if times else None


@member_required
def report_done(request: HttpRequest, member: Member, pk: int) -> HttpResponse:
    """What to do now, with the case number; only the member's own case."""
    if member.is_guardian:
        raise Http404
    case = get_object_or_404(queries.own_cases(member.person), pk=pk)
    alerted = case.state != CaseState.REPORTED
    return render(request, "cases/member_report_done.html", _ctx(member, case=case, alerted=alerted))


@member_required
def reports(request: HttpRequest, member: Member) -> HttpResponse:
    """The member's own cases and where each stands."""
    if member.is_guardian:
        return redirect("member_report", token=member.link.token)
    cases = list(queries.own_cases(member.person).order_by("-reported_at", "-id")[:50])
    return render(request, "cases/member_reports.html", _ctx(member, cases=cases))
