"""Counsellor tools: who in my classes and dormitories is missing which item, bulk confirmation with
evidence, export, a one-click reminder to exactly those missing, the class link with its QR code, and
the class's sign-in slips (personal sign-in codes, shown once).

Thin: reads come from ``queries`` and ``org.scope``, writes from ``actions``. A unit outside the
user's scope answers 404 like a missing one (``Cap.VIEW``); a visible unit that the user may not
change answers 403 on every write (``Cap.EDIT_PEOPLE``) and nothing changes.
"""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from fanzha.campaigns.activities.files import sniff
from fanzha.campaigns.models import Campaign
from fanzha.campaigns.queries import campaigns_for
from fanzha.core import sheets
from fanzha.core.downloads import generated_response, upload_response
from fanzha.core.paging import paginate
from fanzha.org.credentials import actions as credentials
from fanzha.org.forms import apply_errors
from fanzha.org.models import PersonKind, Unit, UnitKind, User
from fanzha.org.names import with_building
from fanzha.org.scope import Cap, in_scope, people_for, units_for

from . import actions, queries
from . import slips as slips_pdf
from .forms import ConfirmForm, SlipsForm
from .models import COUNTED, Attestation, AttestationProof, ClassLink, Item

CHANGE = Cap.EDIT_PEOPLE
PAGE_SIZE = 100
UNIT_PAGE_SIZE = 50
# The units a counsellor works with; the index lists these unless asked for every kind.
MEMBER_UNIT_KINDS = (UnitKind.CLASS, UnitKind.DORM_ROOM)
STATUS_LABELS = {
    "": gettext_lazy("未完成"),
    "declared": gettext_lazy("本人已申报"),
    "verified": gettext_lazy("已核实"),
    "rejected": gettext_lazy("未通过核实"),
    "withdrawn": gettext_lazy("未完成"),  # its only proof, an activity's attendance, was taken back
    "na": "—",
}


def _unit(request: HttpRequest, pk: int, cap: Cap = Cap.VIEW) -> Unit:
    """A unit in the user's scope (404 otherwise); 403 when visible but ``cap`` is not held there."""
    unit = get_object_or_404(units_for(request.user, Cap.VIEW), pk=pk)
    if cap != Cap.VIEW and not in_scope(request.user, unit, cap):
        raise PermissionDenied
    return with_building([unit])[0]


def _campaign(request: HttpRequest, unit: Unit, pk: int) -> Campaign:
    """A visible campaign whose subtree holds ``unit`` and that tracks at least one item; else 404."""
    campaign = get_object_or_404(campaigns_for(request.user).select_related("template", "unit"), pk=pk)
    if not queries.covers(campaign, unit) or not queries.campaign_items(campaign):
        raise Http404
    return campaign


def _item(campaign: Campaign, item: str) -> str:
    if item not in queries.campaign_items(campaign):
        raise Http404
    return item


def _qr_svg(url: str) -> str:
    """The link as an inline SVG QR code (no image request, no external service)."""
    return slips_pdf.qr_svg(url, scale=8)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The units in scope (classes and dormitories unless ``all``), searchable, with a link to each."""
    units = units_for(request.user, Cap.VIEW).filter(is_active=True)
    show_all = request.GET.get("all") == "1"
    if not show_all:
        units = units.filter(kind__in=MEMBER_UNIT_KINDS)
    q = request.GET.get("q", "").strip()[:60]
    if q:
        units = units.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(initials__istartswith=q))
    paged = paginate(request, units.order_by("path"), UNIT_PAGE_SIZE)
    return render(
        request,
        "reach/index.html",
        {
            "page": paged.page,
            "units": with_building(paged.page),
            "q": q,
            "show_all": show_all,
            "prev_url": paged.prev_url,
            "next_url": paged.next_url,
        },
    )


@login_required
def unit_page(request: HttpRequest, unit_pk: int) -> HttpResponse:
    """A unit: the campaigns that track people there, and its self-service link."""
    unit = _unit(request, unit_pk)
    visible = set(campaigns_for(request.user).values_list("pk", flat=True))
    campaigns = [c for c in queries.running_campaigns(unit) if c.pk in visible]
    return render(
        request,
        "reach/unit.html",
        {
            "unit": unit,
            "campaigns": campaigns,
            "can_edit": in_scope(request.user, unit, CHANGE),
            "class_link": ClassLink.objects.filter(unit=unit).first(),
        },
    )


def _totals(
    campaign: Campaign, unit: Unit, user: Any, sizes: dict[str, int] | None = None
) -> dict[str, dict[str, int]]:
    """Per item, people done and people concerned in the whole roster (not only the page): two queries
    (one when the roster's ``sizes`` are given)."""
    roster = queries.roster(campaign, unit, user)
    sizes = sizes or _sizes(roster)
    done = dict(
        Attestation.objects.filter(campaign=campaign, status__in=COUNTED, person__in=roster.values("pk"))
        .values("item")
        .annotate(n=Count("pk"))
        .values_list("item", "n")
    )
    totals = {}
    for item in queries.campaign_items(campaign):
        due = sizes["students"] if item in queries.CHILD_ONLY else sizes["total"]
        count = done.get(item, 0)
        totals[item] = {"done": count, "due": due, "missing": max(due - count, 0)}
    return totals


def _sizes(roster: Any) -> dict[str, int]:
    """People of the roster, and its students: one query."""
    return roster.aggregate(total=Count("pk"), students=Count("pk", filter=Q(kind=PersonKind.STUDENT)))


@login_required
def matrix(request: HttpRequest, unit_pk: int, campaign_pk: int) -> HttpResponse:
    """People × items with status, a page at a time, and per item the number still missing."""
    unit = _unit(request, unit_pk)
    campaign = _campaign(request, unit, campaign_pk)
    roster = queries.roster(campaign, unit, request.user)
    sizes = _sizes(roster)
    paginator = Paginator(roster, PAGE_SIZE)
    paginator.count = sizes["total"]  # the count query is the totals' one: not run twice
    page = paginator.get_page(request.GET.get("page"))
    grid = queries.matrix(campaign, unit, page.object_list)
    totals = _totals(campaign, unit, request.user, sizes)
    items = [{"code": i, "label": Item(i).label, **totals[i]} for i in queries.campaign_items(campaign)]
    return render(
        request,
        "reach/matrix.html",
        {
            "unit": unit,
            "campaign": campaign,
            "grid": grid,
            "items": items,
            "page": page,
            "labels": STATUS_LABELS,
            "can_edit": in_scope(request.user, unit, CHANGE),
        },
    )


@login_required
def item_page(request: HttpRequest, unit_pk: int, campaign_pk: int, item: str) -> HttpResponse:
    """One item: who is missing it and whose declaration waits for a check; confirm, remind, reject."""
    unit = _unit(request, unit_pk)
    campaign = _campaign(request, unit, campaign_pk)
    item = _item(campaign, item)
    missing = list(queries.missing(campaign, unit, item, request.user))
    declared = list(
        Attestation.objects.filter(
            campaign=campaign,
            item=item,
            status=Attestation.Status.DECLARED,
            person__in=queries.roster(campaign, unit, request.user).values("pk"),
        )
        .select_related("person", "by_guardian")
        .order_by("person__external_number", "person__name")
    )
    rejected = {
        a.person_id: a
        for a in Attestation.objects.filter(
            campaign=campaign,
            item=item,
            status=Attestation.Status.REJECTED,
            person__in=[p.pk for p in missing],
        )
    }
    can_edit = in_scope(request.user, unit, CHANGE)
    # The activities whose attendance proves the item here (the evidence of rows nobody typed in).
    proofs = list(
        AttestationProof.objects.filter(
            attestation__campaign=campaign,
            attestation__item=item,
            attestation__person__in=queries.roster(campaign, unit, request.user).values("pk"),
        )
        .values("activity_id", "activity__title", "activity__occurred_on")
        .annotate(people=Count("pk"))
        .order_by("-activity__occurred_on", "activity_id")
    )
    return render(
        request,
        "reach/item.html",
        {
            "unit": unit,
            "campaign": campaign,
            "item": item,
            "item_label": Item(item).label,
            "missing": [(p, rejected.get(p.pk)) for p in missing],
            "declared": declared,
            "can_edit": can_edit,
            "form": ConfirmForm(initial={"item": item}) if can_edit else None,
            "child_only": item in queries.CHILD_ONLY,
            "proofs": proofs,
        },
    )


@login_required
@require_POST
def confirm(request: HttpRequest, unit_pk: int, campaign_pk: int) -> HttpResponse:
    """Bulk confirmation of the people ticked, with one optional evidence file."""
    unit = _unit(request, unit_pk, CHANGE)
    campaign = _campaign(request, unit, campaign_pk)
    item = _item(campaign, request.POST.get("item", ""))
    roster = queries.roster(campaign, unit, request.user)
    choices = [(p.pk, p.name) for p in roster.filter(pk__in=_ints(request.POST.getlist("people")))]
    form = ConfirmForm(request.POST, request.FILES, people=choices)
    back = reverse("reach_item", args=[unit.pk, campaign.pk, item])
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(back)
    people = list(roster.filter(pk__in=form.cleaned_data["people"]))
    try:
        changed = actions.verify_bulk(
            campaign, people, item, request.user, evidence=form.cleaned_data.get("evidence")
        )
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(
            request, _("已确认 %(n)s 人完成“%(item)s”。") % {"n": changed, "item": Item(item).label}
        )
    return redirect(back)


def _ints(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()][:5000]


@login_required
@require_POST
def remind(request: HttpRequest, unit_pk: int, campaign_pk: int) -> HttpResponse:
    """Queue one reminder to each person still missing the item (the guardians for a parent notice)."""
    unit = _unit(request, unit_pk, CHANGE)
    campaign = _campaign(request, unit, campaign_pk)
    item = _item(campaign, request.POST.get("item", ""))
    try:
        result = actions.remind_missing(campaign, unit, item, request.user)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        if result.queued:
            messages.success(request, _("已向 %(n)s 人发出提醒。") % {"n": result.queued})
        if result.already:
            messages.info(request, _("今天已提醒过 %(n)s 人，不再重复发送。") % {"n": result.already})
        if result.unreachable:
            names = "、".join(p.name for p in result.unreachable[:10])
            messages.warning(
                request,
                _("%(n)s 人没有账号、没有登记手机号（或没有登记家长），无法提醒：%(names)s")
                % {"n": len(result.unreachable), "names": names},
            )
        if not (result.queued or result.already or result.unreachable):
            messages.info(request, _("没有需要提醒的人。"))
    return redirect("reach_item", unit_pk=unit.pk, campaign_pk=campaign.pk, item=item)


@login_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a declaration untrue (it counts as not done until declared again)."""
    attestation = get_object_or_404(
        Attestation.objects.select_related("campaign", "person").filter(
            person__in=people_for(request.user, Cap.VIEW).values("pk")
        ),
        pk=pk,
    )
    unit = _unit(request, (_ints([request.POST.get("unit", "")]) or [0])[0], CHANGE)
    campaign = _campaign(request, unit, attestation.campaign_id)
    if not queries.roster(campaign, unit, request.user).filter(pk=attestation.person_id).exists():
        raise Http404
    try:
        actions.reject(attestation, request.user, note=request.POST.get("note", "")[:200])
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(
            request, _("已将 %(name)s 的申报标为未通过核实。") % {"name": attestation.person.name}
        )
    return redirect("reach_item", unit_pk=unit.pk, campaign_pk=campaign.pk, item=attestation.item)


@login_required
def attestation_file(request: HttpRequest, pk: int, which: str) -> HttpResponseBase:
    """An attestation's screenshot or evidence (``evidence``) or drawn signature (``signature``)."""
    if which not in ("evidence", "signature"):
        raise Http404
    attestation = get_object_or_404(
        Attestation.objects.filter(person__in=people_for(request.user, Cap.VIEW).values("pk")), pk=pk
    )
    stored = getattr(attestation, which)
    if not stored:
        raise Http404
    handle = stored.open("rb")
    kind = sniff(handle)
    content_type = kind.content_type if kind else "application/octet-stream"
    return upload_response(handle, content_type)  # images inline, anything else a download


@login_required
def export(request: HttpRequest, unit_pk: int, campaign_pk: int) -> HttpResponse:
    """The whole matrix as an XLSX file (phone numbers masked)."""
    from openpyxl import Workbook

    unit = _unit(request, unit_pk)
    campaign = _campaign(request, unit, campaign_pk)
    items = queries.campaign_items(campaign)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("覆盖情况"))
    sheets.append(
        sheet, [_("学号/工号"), _("姓名"), _("类别"), _("手机号")] + [str(Item(i).label) for i in items]
    )
    people = list(queries.roster(campaign, unit, request.user))
    for start in range(0, len(people), 1000):
        chunk = people[start : start + 1000]
        grid = queries.matrix(campaign, unit, chunk)
        for row in grid.rows:
            cells = []
            for cell in row.cells:
                text = str(STATUS_LABELS[cell.status])
                if cell.attestation and cell.status not in ("na", "withdrawn"):
                    text += " " + timezone.localtime(cell.attestation.at).strftime("%Y-%m-%d")
                cells.append(text)
            person = row.person
            sheets.append(
                sheet,
                [person.external_number, person.name, person.get_kind_display(), person.phone_masked, *cells],
            )
    buffer = io.BytesIO()
    book.save(buffer)
    name = _("%(unit)s-覆盖情况-%(day)s.xlsx") % {"unit": unit.name, "day": timezone.localdate().isoformat()}
    return generated_response(
        buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name
    )


@login_required
def class_link(request: HttpRequest, unit_pk: int) -> HttpResponse:
    """The unit's self-service link and QR code, printable; create or replace it (EDIT_PEOPLE)."""
    unit = _unit(request, unit_pk)
    can_edit = in_scope(request.user, unit, CHANGE)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        if request.POST.get("action") == "rotate":
            actions.rotate_class_link(unit)
            messages.success(request, _("已更换链接和二维码，旧的二维码不再有效。"))
        else:
            actions.ensure_class_link(unit)
        return redirect("reach_link", unit_pk=unit.pk)
    link = ClassLink.objects.filter(unit=unit, is_active=True).first()
    context: dict[str, Any] = {"unit": unit, "link": link, "can_edit": can_edit}
    if link is not None:
        url = request.build_absolute_uri(reverse("member_landing", args=[link.token]))
        context["url"] = url
        context["qr"] = mark_safe(_qr_svg(url))  # noqa: S308 - segno's own SVG markup
    return render(request, "reach/link.html", context)


@login_required
@never_cache
def slips(request: HttpRequest, unit_pk: int) -> HttpResponse:
    """Sign-in slips for a class: each student's name, number, the class link and its QR code, and a
    new personal sign-in code (``org.credentials``). The codes are made by the POST and are on that
    response only (never cached: ``Cache-Control: no-store``); nothing can show them again."""
    unit = _unit(request, unit_pk, CHANGE)
    students = credentials.class_students(unit)
    form = SlipsForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            actor = request.user
            assert isinstance(actor, User)
            try:
                issued = credentials.issue_codes(
                    unit, actor, only_missing=form.cleaned_data["which"] == "missing"
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                link = actions.ensure_class_link(unit)
                url = request.build_absolute_uri(reverse("member_landing", args=[link.token]))
                qr = mark_safe(slips_pdf.qr_svg(url))  # noqa: S308 - segno's own SVG markup
                context = {"unit": unit, "issued": issued, "url": url, "qr": qr}
                return render(request, "reach/slips.html", context)
        status = 400
    context = {
        "unit": unit,
        "form": form,
        "students": students.count(),
        "with_code": students.filter(credentials.holds_code_q()).count(),
        "max": credentials.MAX_BATCH,
    }
    return render(request, "reach/slips_form.html", context, status=status)
