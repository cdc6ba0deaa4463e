"""Calls to the sign-in providers: every one with a timeout, none through a proxy by surprise.

Why not a plain ``requests.get``: it waits forever by default (one silent CAS server would hold every
server worker), and it reads ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` from the environment, so a proxy
set for something else would suddenly carry tickets and secrets, or break the sign-in. Here the
environment is ignored (``trust_env = False``); ``FANZHA_SSO_PROXY`` names a proxy explicitly and
``FANZHA_SSO_CA_BUNDLE`` a CA file for a provider behind a private CA. Query strings (codes, access
tokens) are never logged.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

log = logging.getLogger(__name__)


class ProviderError(Exception):
    """The provider could not be reached, or answered what no documented answer looks like."""


class _Session(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        proxy = settings.FANZHA_SSO_PROXY
        if proxy:
            self.proxies = {"http": proxy, "https": proxy}
        self.headers["User-Agent"] = "fanzha-sso"
        self._timeout = settings.FANZHA_SSO_TIMEOUT
        self._ca_bundle = settings.FANZHA_SSO_CA_BUNDLE

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        if kwargs.get("verify", True) is True and self._ca_bundle:
            kwargs["verify"] = self._ca_bundle
        return super().request(method, url, *args, **kwargs)


def session() -> requests.Session:
    """A session for one exchange with a provider (also what django-cas-ng's client uses)."""
    return _Session()


def requests_options() -> dict[str, Any]:
    """The same rules as keyword arguments, for a library that calls ``requests`` itself
    (mozilla-django-oidc): timeout, proxies (``None`` for every scheme: none from the environment),
    and the CA file."""
    proxy = settings.FANZHA_SSO_PROXY or None
    return {
        "timeout": settings.FANZHA_SSO_TIMEOUT,
        "proxies": {"http": proxy, "https": proxy, "all": proxy},
        "verify": settings.FANZHA_SSO_CA_BUNDLE or True,
    }


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def call_json(
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """``method`` ``url`` and its JSON answer, with its HTTP status; ``ProviderError`` when the provider
    cannot be reached or does not answer in JSON. Redirects are not followed: an API that redirects is
    not answering, and a token must not follow a redirect elsewhere."""
    try:
        with session() as s:
            response = s.request(
                method, url, params=params, json=body, headers=headers, allow_redirects=False
            )
    except requests.RequestException as exc:
        log.warning("sign-in provider %s unreachable: %s", _where(url), type(exc).__name__)
        raise ProviderError(_where(url)) from exc
    try:
        data = response.json()
    except (ValueError, json.JSONDecodeError) as exc:
        log.warning("sign-in provider %s answered %s without JSON", _where(url), response.status_code)
        raise ProviderError(_where(url)) from exc
    return response.status_code, data
