"""System checks of fanzha's own settings (``fanzha check --deploy`` reports them)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def plain_http(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Plain HTTP (the demo) leaves cookies unmarked: fine on one machine, never for others to reach."""
    if not getattr(settings, "FANZHA_PLAIN_HTTP", False):
        return []
    return [
        Warning(
            "FANZHA_PLAIN_HTTP is on: the production settings are served without HTTPS and cookies are "
            "not marked secure.",
            hint="Only for `fanzha demo` or a trial on a loopback address; unset it and serve behind TLS.",
            id="fanzha.W001",
        )
    ]
