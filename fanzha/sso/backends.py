"""The authentication backend of sessions begun by single sign-on."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

BACKEND = "fanzha.sso.backends.SsoBackend"


class SsoBackend(ModelBackend):
    """Names the sessions that single sign-on began, and restores them (``get_user`` refuses an
    account deactivated since). It authenticates nothing: the views check the provider's answer and
    call ``login`` with this backend.

    Why not ``authenticate()``: it runs every backend, and a failure there is a failed password for
    django-axes, which would count every refused single sign-on against one shared key and soon lock
    all of them out.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        return None
