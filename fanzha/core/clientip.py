"""The caller's address, for rate limits and login lockout, right behind a reverse proxy too.

Why one function: behind nginx every request comes from nginx's own address, so limits keyed on
``REMOTE_ADDR`` would lock every member out after ten typos by anyone. With
``FANZHA_TRUSTED_PROXIES`` = N (the number of proxies in front, each appending to
``X-Forwarded-For``), the address is the one the outermost trusted proxy saw; entries further left
were written by the client and are not trusted.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str:
    """The client's IP address as the nearest trusted proxy (or the socket) saw it; "unknown" if none."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = int(getattr(settings, "FANZHA_TRUSTED_PROXIES", 0) or 0)
    if count > 0:
        chain = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
        ]
        if len(chain) >= count:
            candidate = chain[-count]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return remote or "unknown"


def axes_client_ip(request: Any) -> str | None:
    """``client_ip`` for django-axes, which stores the address in an IP column: None when unknown
    (a request made in code, such as a test client's forced login, has no address)."""
    address = client_ip(request) if request is not None else "unknown"
    return None if address == "unknown" else address
