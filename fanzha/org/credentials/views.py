"""The person page's sign-in code: issue one (shown once, on this response only) and revoke it.

Who may: whoever may edit the person (``Cap.EDIT_PEOPLE``: counsellors and administrators). A person
outside the scope answers 404; a visible one the user may only read answers 403 and nothing changes.
Slips for a whole class are printed from the class link (``reach.slips``), which draws its QR code.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .. import scope
from ..models import Person, User
from ..scope import Cap
from . import actions


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # behind login_required
    return request.user


def _person_to_edit(request: HttpRequest, pk: int) -> Person:
    person = get_object_or_404(scope.people_for(request.user), pk=pk)
    if not scope.people_for(request.user, Cap.EDIT_PEOPLE).filter(pk=person.pk).exists():
        raise PermissionDenied
    return person


@login_required
@require_POST
@never_cache
def issue(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue (or re-issue) the person's code and show it on this response only (no-store)."""
    person = _person_to_edit(request, pk)
    try:
        issued = actions.issue_code(person, _actor(request))
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return redirect("person_detail", pk=person.pk)
    return render(request, "org/signin_code.html", {"person": person, "issued": issued})


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw the person's code: it stops working at once."""
    person = _person_to_edit(request, pk)
    if actions.revoke_code(person, _actor(request)):
        messages.success(request, _("登录码已作废，原登录码不能再使用。"))
    return redirect("person_detail", pk=person.pk)
