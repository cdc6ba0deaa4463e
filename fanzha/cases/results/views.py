"""Results pages: record a result on a case, record a gang broken, and the bulletin (on-screen,
printable; as DOCX; issued as the campaign's notice). Thin: reads from ``queries`` and ``bulletin``
(out of scope answers 404), writes from ``actions`` (which check again: 403).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fanzha.campaigns.documents.formats import DOCX_TYPE
from fanzha.core.downloads import generated_response
from fanzha.org.forms import apply_errors, offer_units
from fanzha.org.scope import Cap, units_for

from ..models import CaseResult
from ..queries import cases_for
from ..stats import results as figures_q
from ..stats.queries import Period, scoped_unit
from . import actions, bulletin, queries
from .forms import GangForm, ResultForm


@login_required
@require_http_methods(["GET", "POST"])
def case_results(request: HttpRequest, pk: int) -> HttpResponse:
    """The results of one case and the form to add one (police of the case's unit only)."""
    case = get_object_or_404(cases_for(request.user).select_related("unit"), pk=pk)
    can = queries.can_record(request.user, case.unit)
    form = ResultForm(request.POST or None)
    if request.method == "POST":
        if not can:
            raise PermissionDenied(actions.REFUSED)
        if form.is_valid():
            d = form.cleaned_data
            try:
                if d["kind"] == CaseResult.Kind.CLEARED:
                    actions.record_cleared(case, request.user, on=d["on"], note=d["note"])
                elif d["kind"] == CaseResult.Kind.SUSPECTS:
                    actions.record_suspects(case, request.user, count=d["count"], on=d["on"], note=d["note"])
                else:
                    actions.record_recovery(
                        case, request.user, amount=d["amount"], on=d["on"], note=d["note"]
                    )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("战果已登记。"))
                return redirect("case_results", pk=case.pk)
    context = {
        "case": case,
        "can_record": can,
        "form": form,
        "results": list(case.results.order_by("on", "pk")),
        "gangs": list(case.gangs.order_by("-broken_on")),
    }
    return render(request, "cases/results/case.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def gang_new(request: HttpRequest) -> HttpResponse:
    units = units_for(request.user, Cap.CASE_POLICE).filter(is_active=True)
    if not units.exists():
        raise Http404
    form = GangForm(request.POST or None)
    offer_units(form, "unit", units)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        unit = d["unit"]
        numbers = form.numbers()
        found = dict(
            queries.police_cases(request.user).filter(number__in=numbers).values_list("number", "pk")
        )
        missing = [n for n in numbers if n not in found]
        if missing:
            form.add_error(
                "cases",
                _("以下案件编号不存在或不在您的管辖范围内：%(numbers)s") % {"numbers": "、".join(missing)},
            )
        else:
            try:
                actions.record_gang(
                    request.user,
                    unit=unit,
                    name=d["name"],
                    broken_on=d["broken_on"],
                    members_caught=d["members_caught"],
                    case_ids=found.values(),
                    note=d["note"],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已登记打掉团伙。"))
                return redirect("case_stats")
    return render(request, "cases/results/gang_form.html", {"form": form}, status=400 if form.errors else 200)


def _bulletin_args(request: HttpRequest) -> tuple[Any, Period]:
    params = request.POST if request.method == "POST" else request.GET
    unit = scoped_unit(request.user, params.get("unit", "") or "")
    if unit is None:
        raise Http404
    given = (params.get("month", ""), params.get("quarter", ""), params.get("year", ""))
    if not any(given):  # opened from a menu or a bookmark: the last whole month, as the obligation asks
        last = timezone.localdate().replace(day=1) - timedelta(days=1)
        given = (f"{last:%Y-%m}", "", "")
    period = figures_q.parse_period(*given)
    if period is None:
        raise Http404
    return unit, period


def _params(unit: Any, period: Period) -> dict[str, Any]:
    code = figures_q.period_code(period)
    key = "month" if period.is_month else "quarter" if figures_q.is_quarter(period) else "year"
    return {"unit": unit.pk, key: code}


@login_required
def bulletin_page(request: HttpRequest) -> HttpResponse:
    """The bulletin on screen (printable), with the DOCX link and, for the police, the issue button."""
    unit, period = _bulletin_args(request)
    doc = bulletin.build(figures_q.sources_for(request.user), unit, period)
    params = _params(unit, period)
    context = {
        "doc": doc,
        "sections": [
            (number, section, [list(zip(section.header, row, strict=True)) for row in section.rows])
            for number, section in bulletin.numbered(doc)
        ],
        "params": params,
        "docx_url": reverse("bulletin_docx") + "?" + urlencode(params),
        "can_issue": queries.can_record(request.user, unit),
        "issued": bulletin.issued(unit, period),
        "obligation": actions.notice_obligation(unit),
    }
    return render(request, "cases/results/bulletin.html", context)


@login_required
def bulletin_docx(request: HttpRequest) -> HttpResponse:
    unit, period = _bulletin_args(request)
    doc = bulletin.build(figures_q.sources_for(request.user), unit, period)
    name = _("通报-%(unit)s-%(period)s.docx") % {"unit": unit.name, "period": figures_q.period_code(period)}
    return generated_response(bulletin.write_docx(doc), DOCX_TYPE, name)


@login_required
@require_POST
def bulletin_issue(request: HttpRequest) -> HttpResponse:
    unit, period = _bulletin_args(request)
    try:
        activity = actions.issue_bulletin(request.user, unit, period)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        if activity.obligation_id:
            messages.success(request, _("通报已签发，并已记入“定期通报”工作任务。"))
        else:
            messages.success(request, _("通报已签发。"))
    return redirect(reverse("bulletin") + "?" + urlencode(_params(unit, period)))
