"""CAS 2 and 3 (the universities' 统一身份认证) through django-cas-ng's client (python-cas).

django-cas-ng's own views are not used: they sign in through ``django.contrib.auth.authenticate``, where
django-axes would count every refused ticket as a failed password, and they answer a refusal with a
bare 403. Ours say why, and open an account only as ``actions.account_for`` allows.

The service URL carries the sign-in's ``state`` (``state.py``), so a ticket is good only in the browser
that asked for it; the CAS server hands the ticket back to that URL and we validate it against the same.
"""

from __future__ import annotations

import logging
from typing import Any
from xml.etree.ElementTree import ParseError

from cas import SingleLogoutMixin
from django.http import HttpRequest
from django.urls import reverse
from django_cas_ng.utils import get_cas_client

from . import config
from .identity import Identity, Reason, Refusal
from .outbound import ProviderError

log = logging.getLogger(__name__)


def service_url(request: HttpRequest, state: str) -> str:
    """Where the CAS server sends the browser back with its ticket (and validates it for)."""
    return request.build_absolute_uri(reverse("sso_cas_callback")) + "?state=" + state


def login_url(request: HttpRequest, state: str) -> str:
    """The CAS server's login page for this sign-in."""
    return str(get_cas_client(service_url=service_url(request, state), request=request).get_login_url())


def _first(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value or "").strip()


def identity(request: HttpRequest, cfg: config.Cas, ticket: str, state: str) -> Identity:
    """Validate ``ticket`` with the CAS server (``serviceValidate`` for CAS 2, ``p3/serviceValidate``
    for CAS 3): the identity it names; ``Refusal`` when the server does not vouch for it."""
    client = get_cas_client(service_url=service_url(request, state), request=request)
    try:
        username, attributes, _pgtiou = client.verify_ticket(ticket)
    # requests' errors are OSErrors; a page that is not CAS XML fails to parse or lacks its elements
    except (ProviderError, ParseError, ValueError, IndexError, AttributeError, OSError) as exc:
        log.warning("CAS ticket validation failed: %s", type(exc).__name__)
        raise Refusal("provider", Reason.PROVIDER, status=502) from exc
    if not username:
        log.info("CAS server refused a ticket")
        raise Refusal("unverified", Reason.UNVERIFIED)
    number = (
        _first((attributes or {}).get(cfg.number_attribute)) if cfg.number_attribute else _first(username)
    )
    if not number:
        raise Refusal("no_number", Reason.NO_NUMBER)
    return Identity(config.CAS, str(username), number, cfg.organisation)


def logout_tickets(logout_request: str) -> list[str]:
    """The service tickets a CAS server's single sign-out message names."""
    nodes = SingleLogoutMixin.get_saml_slos(logout_request) or []
    return [str(node.text).strip() for node in nodes if node.text]
