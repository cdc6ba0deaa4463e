"""The main menu's registry: each app registers its own entries, core draws them.

Why a registry: the menu is drawn on every page by ``core.context_processors.nav``, but core must
not import the apps whose pages it lists, nor ``org``, which decides who may see what. Each app
registers its entries in its ``AppConfig.ready()``; ``org`` also registers the function that tells
a user's capabilities. As in ``core.hooks``: named in one place, called from one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise


@dataclass(frozen=True)
class Entry:
    """One menu entry: the page ``url_name`` opens, shown to holders of ``cap`` (None: every signed-in
    user). ``prefixes`` are the URL-name prefixes of the pages that belong to the entry's section
    (a prefix without a trailing ``_`` must match the whole name). ``member_label`` replaces the
    label for a user with no capability at all (a student or parent), and the entry then opens their
    member page (``member_home``) when they have one."""

    order: int
    section: str
    url_name: str
    label: str | Promise
    cap: str | None = None
    prefixes: tuple[str, ...] = ()
    member_label: str | Promise | None = None


@dataclass(frozen=True)
class LoginOption:
    """A further way to sign in, offered as a button on the sign-in page (single sign-on, WeCom …):
    ``url`` starts it, ``label`` names it."""

    order: int
    key: str
    url: str
    label: str | Promise


_entries: dict[str, Entry] = {}
_account: dict[str, Entry] = {}
_capabilities: list[Callable[[Any], set[Any]]] = []
_login_options: list[Callable[[Any], Iterable[LoginOption]]] = []
_member_home: list[Callable[[Any], str]] = []


def register(*entries: Entry) -> None:
    """Add ``entries`` to the menu; registering the same entry again is a no-op."""
    for entry in entries:
        known = _entries.get(entry.section)
        if known is not None and known != entry:
            raise ValueError(f"two menu entries for the section {entry.section!r}")
        _entries[entry.section] = entry


def entries() -> list[Entry]:
    """Every registered entry, in menu order."""
    return sorted(_entries.values(), key=lambda e: e.order)


def register_account(*entries: Entry) -> None:
    """Add ``entries`` to the account area beside the user's name (pages about one's own account,
    such as the API tokens); registering the same entry again is a no-op."""
    for entry in entries:
        known = _account.get(entry.section)
        if known is not None and known != entry:
            raise ValueError(f"two account entries for the section {entry.section!r}")
        _account[entry.section] = entry


def account_entries() -> list[Entry]:
    """Every registered account entry, in order."""
    return sorted(_account.values(), key=lambda e: e.order)


def on_capabilities(provider: Callable[[Any], set[Any]]) -> None:
    """Register ``provider(user)``, which returns the user's capabilities (``org.scope.capabilities``)."""
    if provider not in _capabilities:
        _capabilities.append(provider)


def capabilities(user: Any) -> set[Any]:
    """The user's capabilities as every registered provider tells them (none registered: none)."""
    held: set[Any] = set()
    for provider in _capabilities:
        held |= provider(user)
    return held


def on_login_options(provider: Callable[[Any], Iterable[LoginOption]]) -> None:
    """Register ``provider(request)``, which returns the sign-in options it offers now (``sso`` offers
    the providers that are configured); registering twice is a no-op."""
    if provider not in _login_options:
        _login_options.append(provider)


def login_options(request: Any) -> list[LoginOption]:
    """Every registered provider's sign-in options for ``request``, in order."""
    options = [option for provider in _login_options for option in provider(request)]
    return sorted(options, key=lambda o: o.order)


def on_member_home(provider: Callable[[Any], str]) -> None:
    """Register ``provider(user)``, which returns the page of a student or parent (a user with no
    capability) — their tasks, their children's notices — or "" when the user has none (reach's ``/me/``).
    The home page sends such a user there, and an entry's ``member_label`` leads there."""
    if provider not in _member_home:
        _member_home.append(provider)


def member_home(user: Any) -> str:
    """The member page of ``user`` as the first registered provider tells it ("" when none does)."""
    for provider in _member_home:
        url = provider(user)
        if url:
            return url
    return ""


def _prefixes(entries: Iterable[Entry]) -> Iterable[tuple[str, str]]:
    pairs = [(prefix, e.section) for e in entries for prefix in e.prefixes]
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)  # the longest prefix wins


def section_of(url_name: str | None, entries: Iterable[Entry] | None = None) -> str:
    """The menu section of a page, from its URL name ("" when it belongs to none); ``entries``: among
    these instead of the main menu's."""
    if not url_name:
        return ""
    for prefix, section in _prefixes(_entries.values() if entries is None else entries):
        if url_name == prefix or (prefix.endswith("_") and url_name.startswith(prefix)):
            return section
    return ""
