"""The single sign-on pages: for each provider, a start (to the provider) and a callback (back here).

Thin by design: the provider's module checks what the provider answered (``cas``, ``oidc``, ``wecom``,
``dingtalk``), ``actions.account_for`` decides on the account, and the view signs in or shows why not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from . import actions, cas, config, dingtalk, oidc, state, wecom
from .backends import BACKEND
from .identity import Identity, Reason, Refusal
from .outbound import ProviderError

log = logging.getLogger(__name__)


def refused(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    """The page that says why the sign-in did not happen, with the way back to the sign-in page."""
    log.info("single sign-on refused: %s", refusal.code)
    context = {"message": refusal.text, "hint": refusal.hint}
    return render(request, "sso/refused.html", context, status=refusal.status)


def _sign_in(request: HttpRequest, identity: Identity, next_url: str) -> tuple[HttpResponse, bool]:
    """Sign in as the account ``identity`` names and go on to ``next_url``; or the refusal page."""
    try:
        user = actions.account_for(identity)
    except Refusal as refusal:
        return refused(request, refusal), False
    login(request, user, backend=BACKEND)
    return HttpResponseRedirect(next_url), True


def _start(request: HttpRequest, provider: str, url: Callable[[str], str]) -> HttpResponse:
    try:
        target = url(state.begin(request, provider, state.safe_next(request, request.GET.get("next"))))
    except ProviderError:
        return refused(request, Refusal("provider", Reason.PROVIDER, status=502))
    return HttpResponseRedirect(target)


# CAS ------------------------------------------------------------------------------------------------


@require_GET
def cas_login(request: HttpRequest) -> HttpResponse:
    if config.cas() is None:
        raise Http404
    return _start(request, config.CAS, lambda s: cas.login_url(request, s))


@csrf_exempt  # the CAS server posts its single sign-out here; a sign-in comes as a GET
@require_http_methods(["GET", "POST"])
def cas_callback(request: HttpRequest) -> HttpResponse:
    cfg = config.cas()
    if cfg is None:
        raise Http404
    if request.method == "POST":
        tickets = cas.logout_tickets(request.POST.get("logoutRequest", ""))
        actions.cas_single_sign_out(tickets)
        return HttpResponse("ok", content_type="text/plain")
    ticket, sent_state = request.GET.get("ticket", ""), request.GET.get("state", "")
    try:
        next_url = state.finish(request, config.CAS, sent_state)
        if not ticket:
            raise Refusal("cancelled", Reason.CANCELLED)
        identity = cas.identity(request, cfg, ticket, sent_state)
    except Refusal as refusal:
        return refused(request, refusal)
    response, signed_in = _sign_in(request, identity, next_url)
    if signed_in and request.session.session_key:
        actions.remember_cas_ticket(ticket, request.session.session_key)
    return response


# OpenID Connect -----------------------------------------------------------------------------------


class OidcLogin(OIDCAuthenticationRequestView):
    """mozilla-django-oidc's start: state, nonce and PKCE kept in the session, then to the provider."""

    get_settings = staticmethod(oidc.setting)  # type: ignore[assignment]

    def __init__(self, **kwargs: object) -> None:
        # The library reads the endpoints here; we read them per request, in ``get``, where a provider
        # that cannot be reached becomes a page and not an error.
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if config.oidc() is None:
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
            self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        except ProviderError:
            return refused(request, Refusal("provider", Reason.PROVIDER, status=502))
        return super().get(request)


oidc_login = require_GET(OidcLogin.as_view())


@require_GET
def oidc_callback(request: HttpRequest) -> HttpResponse:
    """The library's checks of the callback (its state in the session, used once), then ours."""
    if config.oidc() is None:
        raise Http404
    states = dict(request.session.get("oidc_states") or {})
    sent_state = request.GET.get("state", "")
    entry = states.pop(sent_state, None) if sent_state else None
    request.session["oidc_states"] = states
    next_url = state.safe_next(request, request.session.pop("oidc_login_next", None))
    try:
        if not isinstance(entry, dict) or not entry.get("nonce"):
            raise Refusal("state", Reason.STATE, status=400)
        if request.GET.get("error") or not request.GET.get("code"):
            raise Refusal("cancelled", Reason.CANCELLED)
        try:
            client = oidc.Client()
        except ProviderError as exc:
            raise Refusal("provider", Reason.PROVIDER, status=502) from exc
        identity = client.identity(request, entry["nonce"], entry.get("code_verifier"))
    except Refusal as refusal:
        return refused(request, refusal)
    return _sign_in(request, identity, next_url)[0]


# WeCom and DingTalk ---------------------------------------------------------------------------------


@require_GET
def wecom_login(request: HttpRequest) -> HttpResponse:
    cfg = config.wecom()
    if cfg is None:
        raise Http404
    return _start(request, config.WECOM, lambda s: wecom.login_url(request, cfg, s))


@require_GET
def wecom_callback(request: HttpRequest) -> HttpResponse:
    cfg = config.wecom()
    if cfg is None:
        raise Http404
    try:
        next_url = state.finish(request, config.WECOM, request.GET.get("state"))
        code = request.GET.get("code", "")
        if not code:
            raise Refusal("cancelled", Reason.CANCELLED)
        identity = wecom.identity(cfg, code)
    except Refusal as refusal:
        return refused(request, refusal)
    return _sign_in(request, identity, next_url)[0]


@require_GET
def dingtalk_login(request: HttpRequest) -> HttpResponse:
    cfg = config.dingtalk()
    if cfg is None:
        raise Http404
    return _start(request, config.DINGTALK, lambda s: dingtalk.login_url(request, cfg, s))


@require_GET
def dingtalk_callback(request: HttpRequest) -> HttpResponse:
    cfg = config.dingtalk()
    if cfg is None:
        raise Http404
    try:
        next_url = state.finish(request, config.DINGTALK, request.GET.get("state"))
        code = request.GET.get("authCode") or request.GET.get("code") or ""
        if not code:
            raise Refusal("cancelled", Reason.CANCELLED)
        identity = dingtalk.identity(cfg, code)
    except Refusal as refusal:
        return refused(request, refusal)
    return _sign_in(request, identity, next_url)[0]
