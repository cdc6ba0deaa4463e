"""A tiny explicit registry of "something happened" calls between apps.

Why a registry and not an import: imports run one way (core → org → campaigns …), so the
unit tree in ``org`` must not import ``campaigns``, yet a class added to a university must
get the obligations of the campaigns already running there. ``org.actions`` calls
``units_added`` after its transaction commits; ``campaigns`` registers its handler in
``CampaignsConfig.ready()``. Why not Django signals: a handler here is named in one place and
called from one place, so a reader can follow it — nothing is hidden in model saves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

UnitsHandler = Callable[[Sequence[Any]], object]  # what a handler returns is ignored

_units_added: list[UnitsHandler] = []


def on_units_added(handler: UnitsHandler) -> UnitsHandler:
    """Register ``handler(units)`` to run after units are created or moved; registering twice is a no-op."""
    if handler not in _units_added:
        _units_added.append(handler)
    return handler


def units_added(units: Sequence[Any]) -> None:
    """Tell every registered handler that ``units`` (with their subtrees) appeared at a new place in the tree.

    Called by ``org.actions`` through ``transaction.on_commit``, so handlers see committed rows.
    """
    if not units:
        return
    for handler in list(_units_added):
        handler(units)


# The home page ------------------------------------------------------------------------------------
#
# Why here: the home page lives in ``org``, but its quick links lead into campaigns, activities and
# notifications, which ``org`` must not import. Each app registers one handler in its
# ``AppConfig.ready``; ``org.views.home`` calls ``home_items`` and draws what comes back.


@dataclass(frozen=True)
class HomeLink:
    """A quick link of the home page: a task, where it is done, and a line about it."""

    order: int
    label: str
    url: str
    hint: str = ""


@dataclass(frozen=True)
class HomePanel:
    """A section of the home page, drawn by ``template`` with ``context``."""

    order: int
    template: str
    context: dict[str, Any] = field(default_factory=dict)


HomeHandler = Callable[[Any, frozenset[str]], Iterable[HomeLink | HomePanel]]

_home: list[HomeHandler] = []


def on_home(handler: HomeHandler) -> HomeHandler:
    """Register ``handler(user, capabilities)``, which returns the user's links and panels."""
    if handler not in _home:
        _home.append(handler)
    return handler


def home_items(user: Any, caps: Iterable[str]) -> tuple[list[HomeLink], list[HomePanel]]:
    """Every registered handler's links and panels for ``user``, each list in its ``order``."""
    held = frozenset(str(c) for c in caps)
    links: list[HomeLink] = []
    panels: list[HomePanel] = []
    for handler in list(_home):
        for item in handler(user, held):
            if isinstance(item, HomeLink):
                links.append(item)
            else:
                panels.append(item)
    return sorted(links, key=lambda x: x.order), sorted(panels, key=lambda x: x.order)


# Attestations -------------------------------------------------------------------------------------
#
# Why here: ``reports`` keeps pre-aggregated coverage counts (pledges signed, apps installed …) and
# must hear of every change of a person's attestation, but ``reach`` must not import ``reports``
# (imports run one way). ``reach.actions`` calls ``attestations_changed`` after its transaction
# commits; ``reports`` registers its handler in its ``AppConfig.ready``.

# (attestation id or None, campaign id, person id, item, counted before, counted after);
# "counted" means the status is declared or verified.
AttestationChange = tuple[int | None, int, int, str, bool, bool]
AttestationsHandler = Callable[[Sequence[AttestationChange]], object]

_attestations_changed: list[AttestationsHandler] = []


def on_attestations_changed(handler: AttestationsHandler) -> AttestationsHandler:
    """Register ``handler(changes)`` to run after attestations change; registering twice is a no-op."""
    if handler not in _attestations_changed:
        _attestations_changed.append(handler)
    return handler


def attestations_changed(changes: Sequence[AttestationChange]) -> None:
    """Tell every registered handler about committed attestation changes (see ``AttestationChange``).

    Called by ``reach.actions`` through ``transaction.on_commit``, so handlers see committed rows.
    """
    if not changes:
        return
    for handler in list(_attestations_changed):
        handler(changes)
