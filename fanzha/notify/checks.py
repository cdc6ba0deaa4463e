"""System checks of the message settings: the SMS gateway and the mail server.

Why checks: a gateway missing its key or its templates fails only when the first parent waits for a
code; a start-up check says so at once. The demo gateway keeps every code on a page: a production
server that has it on would show sign-in codes to whoever is superuser instead of sending them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from . import sms

NOTIFY = "fanzha_notify"


@register(NOTIFY)
def sms_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The gateway named in ``FANZHA_SMS_BACKEND`` has what it needs to send."""
    name = sms.backend_name().lower()
    found: list[CheckMessage] = []
    if name == sms.DEMO and _production() and not getattr(settings, "FANZHA_PLAIN_HTTP", False):
        found.append(
            Warning(
                "FANZHA_SMS_BACKEND=demo under the production settings: no SMS is sent, and every message "
                "(sign-in codes too) is shown on /notifications/sms-demo/ instead.",
                hint="The demo gateway is for `fanzha demo` only; set FANZHA_SMS_BACKEND to aliyun or "
                "tencent.",
                id="fanzha.W010",
            )
        )
    if name not in (sms.ALIYUN, sms.TENCENT):
        return found
    try:
        templates = sms.template_ids()
    except (ValueError, TypeError):
        return [
            *found,
            Error(
                "FANZHA_SMS_TEMPLATES is not a JSON object of template ids.",
                hint='e.g. {"code": "SMS_100001", "alert": "SMS_100002", "reminder": "SMS_100003", '
                '"parent_notice": "SMS_100004", "account": "SMS_100005"}',
                id="fanzha.E011",
            ),
        ]
    needed = ["FANZHA_SMS_KEY_ID", "FANZHA_SMS_KEY_SECRET", "FANZHA_SMS_SIGN_NAME"]
    if name == sms.TENCENT:
        needed.append("FANZHA_SMS_APP_ID")
    missing = [setting for setting in needed if not getattr(settings, setting, "")]
    if missing:
        found.append(
            Error(
                f"FANZHA_SMS_BACKEND={name} needs {', '.join(missing)}.",
                hint="See docs/deployment.md, section SMS.",
                id="fanzha.E010",
            )
        )
    unknown = sorted(set(templates) - set(sms.Template.values))
    if unknown:
        found.append(
            Error(
                f"FANZHA_SMS_TEMPLATES names unknown kinds: {', '.join(unknown)}.",
                hint=f"The kinds are {', '.join(sms.Template.values)}.",
                id="fanzha.E011",
            )
        )
    absent = [kind for kind in sms.Template.values if kind not in templates]
    if absent:
        found.append(
            Warning(
                f"FANZHA_SMS_TEMPLATES has no template for {', '.join(absent)}: such messages fail as "
                "'no approved template'.",
                hint="Apply for the templates listed in docs/deployment.md and add their ids.",
                id="fanzha.W011",
            )
        )
    return found


@register(NOTIFY)
def email_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if getattr(settings, "EMAIL_USE_TLS", False) and getattr(settings, "EMAIL_USE_SSL", False):
        return [
            Error(
                "EMAIL_USE_TLS and EMAIL_USE_SSL are both on; at most one may be.",
                hint="EMAIL_USE_TLS: STARTTLS (usually port 587); EMAIL_USE_SSL: implicit TLS (usually 465).",
                id="fanzha.E012",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def email_configured(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Production without a mail server of its own sends every e-mail to localhost:25."""
    if getattr(settings, "EMAIL_HOST", "") not in ("", "localhost", "127.0.0.1"):
        return []
    return [
        Warning(
            "EMAIL_HOST is not set: e-mail goes to a mail server on this machine (localhost:25), "
            f"from {settings.DEFAULT_FROM_EMAIL}.",
            hint="Set EMAIL_HOST, EMAIL_PORT, EMAIL_USE_TLS or EMAIL_USE_SSL, EMAIL_HOST_USER, "
            "EMAIL_HOST_PASSWORD and DEFAULT_FROM_EMAIL (docs/deployment.md).",
            id="fanzha.W012",
        )
    ]


def _production() -> bool:
    """The production settings (``fanzha.settings.prod`` or a module built on it) are in force."""
    return not settings.DEBUG and hasattr(settings, "FANZHA_PLAIN_HTTP")
