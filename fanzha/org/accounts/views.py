"""The account pages: what an administrator does from a person's page, a unit's page and the accounts
list, and what a person does alone (set the password from a link, "忘记密码", change the password).

Thin: who may act comes from ``queries`` (out of sight answers 404, visible but not allowed 403,
and nothing changes), every write from ``actions``. A link's secret arrives in the query string
(which no log line keeps) and is swapped at once for its hash in the session, so it is neither in
the address bar nor in the browser's history afterwards.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from fanzha.core import ratelimit, sheets
from fanzha.core.clientip import client_ip
from fanzha.core.models import AuditRecord
from fanzha.core.paging import paginate

from .. import scope
from ..models import AccountBatch, AccountToken, Person, User
from ..scope import Cap
from . import actions, queries, tasks
from .forms import (
    AccountFilterForm,
    ChangePasswordForm,
    CodeForm,
    ForgotForm,
    GrantForm,
    InviteForm,
    OpenAccountForm,
    SetPasswordForm,
)

PAGE_SIZE = 50
INLINE_BATCH = 50  # a bulk opening of at most this many accounts runs in the request
LINK_SESSION = "account_link"  # {"pk": token pk, "hash": its secret's hash}
FORGOT_SESSION = "account_forgot"  # {"users": [pk, …], "expires": epoch seconds}
FORGOT_AGE = 15 * 60
BACKEND = "fanzha.org.auth.NumberOrPhoneBackend"


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # behind login_required
    return request.user


def _site(request: HttpRequest) -> str:
    """Where invitation links start: ``FANZHA_SITE_URL``, else the address this page was reached at."""
    return settings.FANZHA_SITE_URL or request.build_absolute_uri("/").rstrip("/")


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for text in exc.messages:
        messages.error(request, text)


def _form_errors(request: HttpRequest, form: Any) -> None:
    for errors in form.errors.values():
        for text in errors:
            messages.error(request, text)


def _back(user: User) -> HttpResponse:
    """Back to the person page of the account (the list when it has no person)."""
    person = Person.objects.filter(user=user).first()
    if person is not None:
        return redirect(reverse("person_detail", args=[person.pk]) + "#account")
    return redirect("account_list")


def _report(request: HttpRequest, sent: actions.Sent, done: str) -> None:
    """Send the letters now and say where each stands: an SMS that no gateway took says so."""
    actions.send_now(sent.keys)
    letters = queries.letters_of(sent.token)
    if not letters:
        return
    parts = [
        _("%(kind)s %(to)s：%(status)s")
        % {
            "kind": _("短信") if letter.kind == "sms" else _("电子邮件"),
            "to": letter.to,
            "status": letter.status,
        }
        for letter in letters
    ]
    text = done + _("；").join(parts)
    if any(letter.unsent for letter in letters):
        messages.warning(request, text)
    else:
        messages.success(request, text)


# From a person's page --------------------------------------------------------------------------


@login_required
@require_POST
@never_cache
def open_account(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a staff account for the person and send the invitation (or show a temporary password once)."""
    person = queries.person_to_open(_actor(request), pk)
    form = OpenAccountForm(request.POST)
    back = redirect(reverse("person_detail", args=[person.pk]) + "#account")
    if not form.is_valid():
        _form_errors(request, form)
        return back
    try:
        opened = actions.open_account(
            _actor(request),
            person,
            email=form.cleaned_data["email"],
            site=_site(request),
            temporary=form.cleaned_data["temporary"],
        )
    except ValidationError as exc:
        _errors(request, exc)
        return back
    if opened.temporary:
        return _temporary_page(request, opened.user, opened.temporary)
    assert opened.sent is not None
    _report(request, opened.sent, _("账号已开通。邀请："))
    return back


@login_required
@require_POST
@never_cache
def invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the invitation again (the previous link stops working)."""
    user = queries.account_to_manage(_actor(request), pk)
    form = InviteForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(user)
    try:
        sent = actions.send_invitation(
            _actor(request), user, email=form.cleaned_data["email"] or None, site=_site(request)
        )
    except ValidationError as exc:
        _errors(request, exc)
    else:
        _report(request, sent, _("已重新生成邀请，此前的链接已作废。邀请："))
    return _back(user)


@login_required
@require_POST
def deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop the account signing in (sessions and API tokens end); grants and history stay."""
    user = queries.account_to_manage(_actor(request), pk)
    try:
        if actions.deactivate(_actor(request), user):
            messages.success(request, _("账号已停用：已登录的会话和接口令牌已全部失效，授权和记录保留。"))
    except ValidationError as exc:
        _errors(request, exc)
    return _back(user)


@login_required
@require_POST
def reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Let the account sign in again, with the grants it had."""
    user = queries.account_to_manage(_actor(request), pk)
    if actions.reactivate(_actor(request), user):
        messages.success(request, _("账号已重新启用，原有授权保留。"))
    return _back(user)


@login_required
@require_POST
@never_cache
def reset(request: HttpRequest, pk: int) -> HttpResponse:
    """An administrator's reset: the old password ends, a link to choose a new one is sent."""
    user = queries.account_to_manage(_actor(request), pk)
    try:
        sent = actions.reset_password(_actor(request), user, site=_site(request))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        _report(request, sent, _("密码已重置，原密码、已登录的会话和接口令牌已失效。重置链接："))
    return _back(user)


def _temporary_page(request: HttpRequest, user: User, password: str) -> HttpResponse:
    person = Person.objects.filter(user=user).first()
    context = {"account": user, "person": person, "password": password, "login": queries.login_name(user)}
    return render(request, "org/accounts/temporary.html", context)


@login_required
@require_POST
@never_cache
def temporary(request: HttpRequest, pk: int) -> HttpResponse:
    """A temporary password, shown on this response only, to be handed over in person."""
    user = queries.account_to_manage(_actor(request), pk)
    try:
        password = actions.issue_temporary_password(_actor(request), user)
    except ValidationError as exc:
        _errors(request, exc)
        return _back(user)
    return _temporary_page(request, user, password)


# The accounts list -----------------------------------------------------------------------------


def _listed(request: HttpRequest) -> tuple[AccountFilterForm, Any, Any]:
    actor = _actor(request)
    if not scope.scope_paths(actor, Cap.GRANT):
        raise PermissionDenied
    form = AccountFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    unit = None
    if data.get("unit"):
        unit = get_object_or_404(scope.units_for(actor, Cap.GRANT), pk=data["unit"])
    accounts = queries.account_list(
        actor,
        q=data.get("q", ""),
        unit=unit,
        role=data.get("role", ""),
        active=data.get("active", ""),
        pending=bool(data.get("pending")),
    )
    return form, unit, accounts


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    """Accounts the administrator manages: name, login, roles, last sign-in, state; filters; 50 a page."""
    form, unit, accounts = _listed(request)
    query = request.GET.urlencode()
    context = {"form": form, "unit": unit, "paged": paginate(request, accounts, PAGE_SIZE), "query": query}
    return render(request, "org/accounts/list.html", context)


@login_required
def account_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as XLSX (names and logins only, no phone), audited."""
    from openpyxl import Workbook

    _form, unit, accounts = _listed(request)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("账号"))
    sheets.append(
        sheet,
        [_("姓名"), _("登录名"), _("角色"), _("最近登录"), _("状态"), _("邀请未接受")],
    )
    count = 0
    for user in accounts:
        roles = "；".join(f"{g.get_role_display()}@{g.unit.name}" for g in user.grant_list)
        last = timezone.localtime(user.last_login).strftime("%Y-%m-%d %H:%M") if user.last_login else ""
        sheets.append(
            sheet,
            [
                user.first_name,
                queries.login_name(user),
                roles,
                last,
                _("启用") if user.is_active else _("已停用"),
                _("是") if user.invitation_open else "",
            ],
        )
        count += 1
    AuditRecord.objects.create(
        actor=_actor(request),
        action=AuditRecord.Action.EXPORT,
        object_type="unit" if unit else "accounts",
        object_id=str(unit.pk) if unit else "-",
        detail=f"accounts;count={count}",
    )
    response = HttpResponse(content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = 'attachment; filename="accounts.xlsx"'
    book.save(response)
    return response


# A unit's staff at once ------------------------------------------------------------------------


@login_required
@never_cache
def bulk(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: who would get an account, who has one, who cannot be invited. POST: open and invite them,
    in the request for a few, as a background task for many."""
    actor = _actor(request)
    unit = queries.unit_to_grant(actor, pk)
    if request.method == "POST":
        batch = actions.start_batch(actor, unit, site=_site(request))
        if batch.total <= INLINE_BATCH:
            actions.run_batch(batch.pk)  # the invitations leave with the worker, like every message
        else:
            tasks.start_batch(batch)
        return redirect("account_batch", batch_id=batch.pk)
    preview = queries.bulk_preview(actor, unit)
    return render(request, "org/accounts/bulk.html", {"unit": unit, "preview": preview})


@login_required
@never_cache
def batch_detail(request: HttpRequest, batch_id: Any) -> HttpResponse:
    """Progress and outcome of a bulk opening, for the administrator who started it."""
    batch = get_object_or_404(AccountBatch.objects.select_related("unit"), pk=batch_id, actor=_actor(request))
    return render(
        request,
        "org/accounts/batch.html",
        {"batch": batch, "summary": batch.summary, "sms_configured": queries.sms_configured()},
    )


# Grants on the unit page -----------------------------------------------------------------------


@login_required
@require_POST
def grant(request: HttpRequest, pk: int) -> HttpResponse:
    """Grant a role at the unit to an account in scope, named by its number or phone."""
    actor = _actor(request)
    unit = queries.unit_to_grant(actor, pk)
    form = GrantForm(request.POST, roles=queries.grantable_roles(actor, unit))
    back = redirect(reverse("unit_detail", args=[unit.pk]) + "#grants")
    if not form.is_valid():
        _form_errors(request, form)
        return back
    user = queries.find_account(actor, form.cleaned_data["login"])
    if user is None:
        messages.error(
            request, _("在您的管理范围内没有找到这个账号：请核对学号/工号或手机号，或先为此人开通账号。")
        )
        return back
    try:
        actions.grant(actor, user, unit, form.cleaned_data["role"])
    except (ValidationError, PermissionDenied) as exc:
        if isinstance(exc, PermissionDenied):
            messages.error(request, str(exc) or _("您不能给这个账号授权。"))
        else:
            _errors(request, exc)
    else:
        role = dict(queries.grantable_roles(actor, unit)).get(form.cleaned_data["role"], "")
        messages.success(request, _("已授予 %(name)s “%(role)s”。") % {"name": user.first_name, "role": role})
    return back


@login_required
@never_cache
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: ask to confirm (with a warning when it is one's own grant). POST: revoke, audited."""
    actor = _actor(request)
    row = queries.grant_to_revoke(actor, pk)
    back = redirect(reverse("unit_detail", args=[row.unit_id]) + "#grants")
    if request.method == "POST":
        try:
            actions.revoke(actor, row)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(
                request,
                _("已撤销 %(name)s 在 %(unit)s 的“%(role)s”。")
                % {"name": row.user.first_name, "unit": row.unit.name, "role": row.get_role_display()},
            )
        return back
    context = {
        "grant": row,
        "own": row.user_id == actor.pk,
        "last_admin": row.user_id == actor.pk
        and not actor.is_superuser
        and queries.last_admin_grant(actor, row),
    }
    return render(request, "org/accounts/revoke.html", context)


# A person alone: the link, "忘记密码", changing the password ------------------------------------


def _link_page(request: HttpRequest, purpose: str) -> HttpResponse:
    secret = request.GET.get("t")
    if secret:
        token = queries.find_link(actions.link_hash(secret))
        if token is not None and token.purpose == purpose:
            request.session[LINK_SESSION] = {"pk": token.pk, "hash": token.secret_hash}
        else:
            request.session.pop(LINK_SESSION, None)
        return redirect(request.path)  # the secret leaves the address bar and the history
    held = request.session.get(LINK_SESSION) or {}
    token = queries.find_link(str(held.get("hash", "")))
    if token is None or token.pk != held.get("pk") or token.purpose != purpose:
        return render(request, "org/accounts/link_closed.html", {"purpose": purpose}, status=410)
    form = SetPasswordForm(token.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = actions.accept_link(token, form.cleaned_data["new_password1"])
        except ValidationError as exc:
            form.add_error("new_password1", exc)
        else:
            request.session.pop(LINK_SESSION, None)
            login(request, user, backend=BACKEND)
            messages.success(request, _("密码已设置，您已登录。以后请用学号/工号或手机号和这个密码登录。"))
            return redirect("home")
    context = {
        "form": form,
        "purpose": purpose,
        "account": token.user,
        "login": queries.login_name(token.user),
        "expires_at": token.expires_at,
    }
    return render(request, "org/accounts/set_password.html", context)


@sensitive_post_parameters()
@never_cache
def welcome(request: HttpRequest) -> HttpResponse:
    """The invitation link: the person chooses their password and is signed in."""
    return _link_page(request, AccountToken.Purpose.INVITE)


@sensitive_post_parameters()
@never_cache
def reset_link(request: HttpRequest) -> HttpResponse:
    """The administrator's reset link: the person chooses a new password and is signed in."""
    return _link_page(request, AccountToken.Purpose.RESET)


def _limited(request: HttpRequest, template: str, form: Any) -> HttpResponse:
    form.add_error(None, _("尝试次数过多，请稍后再试（最长一小时）。"))
    return render(request, template, {"form": form}, status=429)


@sensitive_post_parameters()
@never_cache
def forgot(request: HttpRequest) -> HttpResponse:
    """ "忘记密码": a number or phone; a code goes to the account's phone or e-mail if there is one.
    The answer is the same whether or not an account exists."""
    form = ForgotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login_text = form.cleaned_data["login"]
        buckets = actions.forgot_buckets(login_text, client_ip(request))
        if ratelimit.exceeded(*buckets):
            return _limited(request, "org/accounts/forgot.html", form)
        ratelimit.hit(*buckets)
        # The codes leave with the worker (woken as this commits), not in this request: a reply that
        # waited for a mail server only when the account exists would tell that it does.
        users, _keys = actions.request_reset_code(login_text)
        request.session[FORGOT_SESSION] = {"users": users, "expires": time.time() + FORGOT_AGE}
        return redirect("account_forgot_code")
    return render(request, "org/accounts/forgot.html", {"form": form})


@sensitive_post_parameters()
@never_cache
def forgot_code(request: HttpRequest) -> HttpResponse:
    """The code and a new password; a wrong code counts (five void it), and so does every try from one
    address. Afterwards the person signs in with the new password."""
    held = request.session.get(FORGOT_SESSION)
    if not isinstance(held, dict) or float(held.get("expires", 0)) <= time.time():
        request.session.pop(FORGOT_SESSION, None)
        return redirect("account_forgot")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        bucket = actions.CODE_ADDRESS_LIMIT.bucket(client_ip(request))
        if ratelimit.exceeded(bucket):
            return _limited(request, "org/accounts/forgot_code.html", form)
        token = actions.check_reset_code([int(pk) for pk in held.get("users", [])], form.cleaned_data["code"])
        if token is None:
            ratelimit.hit(bucket)
            form.add_error("code", _("验证码不正确或已失效。请核对，或返回重新获取。"))
            status = 400
        else:
            try:
                actions.reset_with_code(token, form.cleaned_data["new_password1"])
            except ValidationError as exc:
                form.add_error("new_password1", exc)
                status = 400
            else:
                request.session.pop(FORGOT_SESSION, None)
                messages.success(request, _("密码已重新设置，请用新密码登录。"))
                return redirect("login")
    return render(request, "org/accounts/forgot_code.html", {"form": form}, status=status)


@sensitive_post_parameters()
@never_cache
@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    """Change one's own password; after a reset or a temporary password every page leads here."""
    user = _actor(request)
    form = ChangePasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.change_password(user, form.cleaned_data["new_password1"])
        update_session_auth_hash(request, user)
        messages.success(request, _("密码已修改。"))
        return redirect("home")
    return render(
        request, "org/accounts/password_change.html", {"form": form, "forced": user.must_change_password}
    )
