"""Template context shared by every page: the signed-in user's capabilities and the main menu, or,
for a visitor who is not signed in, the further ways to sign in.

The entries and options come from ``core.menu``, where each app registers its own; core knows none
of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise

from . import menu as registry


@dataclass(frozen=True)
class MenuLink:
    section: str
    url: str
    label: str | Promise
    current: bool


def menu(
    caps: set[Any], url_name: str | None, entries: list[registry.Entry] | None = None, member_url: str = ""
) -> list[MenuLink]:
    """The menu entries the capabilities open, the current page's section marked (``entries``: these
    instead of the main menu's, e.g. the account area's). ``member_url``: a student's or parent's own
    page (``core.menu.member_home``), which an entry with a ``member_label`` opens for them."""
    entries = registry.entries() if entries is None else entries
    current = registry.section_of(url_name, entries)
    links = []
    for entry in entries:
        if entry.cap is not None and entry.cap not in caps:
            continue
        as_member = entry.member_label is not None and not caps
        label = entry.member_label if entry.member_label is not None and as_member else entry.label
        url = member_url if as_member and member_url else reverse(entry.url_name)
        links.append(MenuLink(entry.section, url, label, entry.section == current))
    return links


def nav(request: HttpRequest) -> dict[str, Any]:
    """The signed-in user's capabilities and main menu (no query beyond the cached grants); for a
    visitor, the sign-in options (single sign-on …) the sign-in page offers."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"login_options": registry.login_options(request)}
    caps = registry.capabilities(user)
    match = getattr(request, "resolver_match", None)
    url_name = match.url_name if match else None
    member_url = "" if caps or user.is_superuser else registry.member_home(user)
    return {
        "caps": caps,
        "menu": menu(caps, url_name, member_url=member_url),
        "account_menu": menu(caps, url_name, registry.account_entries()),
    }
