"""A tiny explicit registry of "something happened" calls between apps.

Why a registry and not an import: imports run one way (core → org → campaigns …), so the
unit tree in ``org`` must not import ``campaigns``, yet a class added to a university must
get the obligations of the campaigns already running there. ``org.actions`` calls
``units_added`` after its transaction commits; ``campaigns`` registers its handler in
``CampaignsConfig.ready()``. Why not Django signals: a handler here is named in one place and
called from one place, so a reader can follow it — nothing is hidden in model saves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
