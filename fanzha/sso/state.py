"""The ``state`` of a redirect to a provider and back, kept in the session.

Why: without it anyone could send a victim to our callback with the attacker's own ticket or code, and
the victim would be signed in as the attacker (login CSRF). Each state is random, bound to one provider
and to the page to return to, used once, and good for ten minutes; a session keeps at most ten.
(OpenID Connect keeps its own state, nonce and PKCE verifier, in mozilla-django-oidc's way.)
"""

from __future__ import annotations

import secrets
import time

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from .identity import Reason, Refusal

_KEY = "sso_states"
_KEEP = 10
LIFETIME = 600.0


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """``candidate`` if it is a page of this site, else the usual page after sign-in."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def begin(request: HttpRequest, provider: str, next_url: str) -> str:
    """A new state for a sign-in with ``provider`` that returns to ``next_url``."""
    now = time.time()
    states = {
        key: value
        for key, value in (request.session.get(_KEY) or {}).items()
        if isinstance(value, dict) and now - float(value.get("at", 0)) < LIFETIME
    }
    while len(states) >= _KEEP:
        del states[min(states, key=lambda key: float(states[key]["at"]))]
    state = secrets.token_hex(16)
    states[state] = {"provider": provider, "next": next_url, "at": now}
    request.session[_KEY] = states
    return state


def finish(request: HttpRequest, provider: str, state: str | None) -> str:
    """Use up ``state``: the page to return to; ``Refusal`` when it is unknown, spent, another
    provider's or too old."""
    states = dict(request.session.get(_KEY) or {})
    entry = states.pop(state, None) if state else None
    request.session[_KEY] = states
    if (
        not isinstance(entry, dict)
        or entry.get("provider") != provider
        or time.time() - float(entry.get("at", 0)) > LIFETIME
    ):
        raise Refusal("state", Reason.STATE, status=400)
    return str(entry.get("next") or resolve_url(settings.LOGIN_REDIRECT_URL))
