"""Responsibility letter pages: status per campaign and level, the letter with its signature pad, signing.

A campaign or letter outside the user's scope answers 404; a visible one that the user may not
generate or sign answers 403 and nothing changes. Signature images are served after the same check.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fanzha.core.downloads import upload_response
from fanzha.org.forms import apply_errors

from .. import queries
from ..models import Campaign, LetterSignature, ResponsibilityLetter
from . import actions
from . import queries as letters_queries
from .forms import SignForm


def _campaign(request: HttpRequest, pk: int) -> Campaign:
    return get_object_or_404(queries.campaigns_for(request.user).select_related("unit", "template"), pk=pk)


def _letter(request: HttpRequest, pk: int) -> ResponsibilityLetter:
    return get_object_or_404(
        queries.letters_for(request.user).select_related("campaign", "upper_unit", "lower_unit"), pk=pk
    )


@login_required
def letter_index(request: HttpRequest) -> HttpResponse:
    """Letters waiting for the user's signature, and the campaigns whose letters' status they can see."""
    campaigns = queries.campaigns_for(request.user).select_related("unit").order_by("-starts_on", "-id")
    return render(
        request,
        "campaigns/letter_index.html",
        {"campaigns": campaigns[:200], "to_sign": letters_queries.letters_to_sign(request.user)},
    )


@login_required
def letter_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Per level: letters signed by both sides, one side, none; and who has not signed yet."""
    campaign = _campaign(request, pk)
    levels = letters_queries.letter_status(request.user, campaign)
    return render(
        request,
        "campaigns/letter_status.html",
        {
            "campaign": campaign,
            "levels": levels,
            "can_generate": queries.campaigns_managed_by(request.user).filter(pk=campaign.pk).exists(),
        },
    )


@login_required
@require_POST
def letter_generate(request: HttpRequest, pk: int) -> HttpResponse:
    """Create the campaign's missing letters from its template (the campaign's managers only)."""
    campaign = _campaign(request, pk)
    if not queries.campaigns_managed_by(request.user).filter(pk=campaign.pk).exists():
        raise PermissionDenied
    try:
        result = actions.generate_letters(campaign, request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("letter_status", pk=campaign.pk)
    messages.success(
        request,
        _("已生成 %(created)s 份责任书（此前已有 %(existing)s 份）。")
        % {"created": result.created, "existing": result.existing},
    )
    if result.unmatched:
        names = "、".join(unit.name for _level, unit in result.unmatched[:10])
        messages.warning(
            request,
            _("%(n)s 个单位没有对应的上级单位，未生成责任书：%(names)s")
            % {"n": len(result.unmatched), "names": names},
        )
    return redirect("letter_status", pk=campaign.pk)


def _letter_page(
    request: HttpRequest, letter: ResponsibilityLetter, form: SignForm | None = None, status: int = 200
) -> HttpResponse:
    signatures = {s.side: s for s in letter.signatures.all()}
    is_open = letter.campaign.status == Campaign.Status.ACTIVE
    sides = []
    for side, label in LetterSignature.Side.choices:
        unit = letter.upper_unit if side == LetterSignature.Side.UPPER else letter.lower_unit
        signature = signatures.get(side)
        may_sign = is_open and signature is None and actions.can_sign(request.user, letter, side)
        sides.append(
            {"side": side, "label": label, "unit": unit, "signature": signature, "may_sign": may_sign}
        )
    sign = next((s for s in sides if s["may_sign"]), None)
    if sign is not None and form is None:
        user: Any = request.user
        person = getattr(user, "person", None)
        name = person.name if person is not None else user.first_name or user.get_username()
        form = SignForm(initial={"signer_name": name})
    return render(
        request,
        "campaigns/letter_detail.html",
        {"letter": letter, "sides": sides, "sign": sign, "form": form},
        status=status,
    )


@login_required
def letter_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The letter's text, both sides' signatures, and a signature pad for a side the user may sign."""
    return _letter_page(request, _letter(request, pk))


@login_required
@require_POST
def letter_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign one side; a side already signed, or a drawing that is not a real PNG, is refused."""
    letter = _letter(request, pk)
    side = request.POST.get("side", "")
    if side not in LetterSignature.Side.values or not actions.can_sign(request.user, letter, side):
        raise PermissionDenied
    form = SignForm(request.POST)
    if form.is_valid():
        try:
            actions.sign_letter(
                letter, side, form.cleaned_data["signer_name"], form.cleaned_data["signature"], request.user
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已签署。"))
            return redirect("letter_detail", pk=letter.pk)
    return _letter_page(request, letter, form, status=400)


@login_required
def letter_signature(request: HttpRequest, pk: int, side: str) -> HttpResponseBase:
    """A side's drawn signature, for whoever may see the letter."""
    letter = _letter(request, pk)
    signature = letter.signatures.filter(side=side).first()
    if signature is None:
        raise Http404
    return upload_response(signature.image.open("rb"), "image/png")  # checked as PNG when drawn
