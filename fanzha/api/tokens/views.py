"""The tokens page of the signed-in user: list their own tokens, make one (its key shown once), revoke.

Why a page of one's own: a token acts as its owner, so only the owner lists it; nobody sees a key
after it was shown (only its hash is stored), and another's token answers 404 like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from fanzha.org.views import AuthedRequest

from ..models import ApiToken
from . import actions, queries
from .forms import NewTokenForm

PAGE_SIZE = 50


@dataclass(frozen=True)
class Row:
    """One token as the page shows it."""

    pk: int
    name: str | Promise
    prefix: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    status: str | Promise
    usable: bool


def _row(token: ApiToken, now: datetime) -> Row:
    if token.revoked_at is not None:
        status: str | Promise = gettext_lazy("已撤销")
    elif token.is_expired(now):
        status = gettext_lazy("已过期")
    else:
        status = gettext_lazy("有效")
    return Row(
        pk=token.pk,
        name=token.name or gettext_lazy("未命名"),
        prefix=token.prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        status=status,
        usable=token.is_usable(now),
    )


@never_cache
@login_required
def token_list(request: AuthedRequest) -> HttpResponse:
    """GET: the user's tokens. POST: a new token, its key shown on this answer only."""
    form = NewTokenForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        issued = actions.issue_token(request.user, form.cleaned_data["name"])
        form = NewTokenForm()
    now = timezone.now()
    page = Paginator(queries.tokens_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "issued": issued,
        "page": page,
        "rows": [_row(token, now) for token in page],
        "days": settings.FANZHA_API_TOKEN_DAYS,
    }
    return render(request, "api/tokens.html", context, status=201 if issued else 200)


@require_POST
@login_required
def token_revoke(request: AuthedRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's own tokens (another's: 404, nothing changes)."""
    token = queries.own_token(request.user, pk)
    if actions.revoke_token(token):
        done = _("已撤销令牌 %(prefix)s…，使用它的请求将被拒绝。") % {"prefix": token.prefix}
        messages.success(request, done)
    else:
        messages.info(request, _("令牌 %(prefix)s… 此前已撤销。") % {"prefix": token.prefix})
    return redirect("account_tokens")
