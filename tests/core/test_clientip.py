"""The caller's address behind a reverse proxy: rate limits and the login lockout must key on the
client, not on nginx, and must not trust what the client itself wrote into X-Forwarded-For."""

from __future__ import annotations

from django.test import RequestFactory

from fanzha.core.clientip import client_ip


def request(remote: str = "10.0.0.1", forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_socket_address_counts(settings):
    settings.FANZHA_TRUSTED_PROXIES = 0
    assert client_ip(request(forwarded="1.2.3.4")) == "10.0.0.1"


def test_one_proxy_takes_the_address_it_saw_not_what_the_client_wrote(settings):
    settings.FANZHA_TRUSTED_PROXIES = 1
    assert client_ip(request(forwarded="203.0.113.9")) == "203.0.113.9"
    assert client_ip(request(forwarded="6.6.6.6, 203.0.113.9")) == "203.0.113.9"  # client-written first


def test_garbage_or_a_missing_header_falls_back_to_the_socket(settings):
    settings.FANZHA_TRUSTED_PROXIES = 1
    assert client_ip(request(forwarded="not-an-ip")) == "10.0.0.1"
    assert client_ip(request()) == "10.0.0.1"
    settings.FANZHA_TRUSTED_PROXIES = 2
    assert client_ip(request(forwarded="203.0.113.9")) == "10.0.0.1"  # fewer hops than proxies


def test_login_lockout_uses_the_same_address(settings):
    from axes.helpers import get_client_ip_address

    settings.FANZHA_TRUSTED_PROXIES = 1
    assert get_client_ip_address(request(forwarded="203.0.113.9")) == "203.0.113.9"
