"""What notify adds to the home page: the chat-group robots, for those who set them up.

Registered with ``core.hooks.on_home`` in ``NotifyConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from fanzha.core.hooks import HomeLink, HomePanel


def home_items(user: Any, caps: frozenset[str]) -> Iterable[HomeLink | HomePanel]:
    if "edit_units" not in caps:
        return []
    hint = _("企业微信、钉钉、飞书群接收提醒")
    return [HomeLink(60, _("群机器人"), reverse("channel_list"), hint, common=False)]
