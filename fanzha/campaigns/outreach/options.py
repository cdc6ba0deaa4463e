"""What an activity record may say, from the campaigns running over its unit: the kinds the record
form offers and the target groups and channels an outreach record counts by.

Why from the campaigns' templates and not a fixed list: a bank branch records publicity for its
month (outreach, articles, notices), never a class meeting, and the bank's plan says which groups and
channels it counts (篇六); a school's campaigns declare nothing and keep every kind. The verbs in
``activities.actions`` check reach fields against the same options the form offers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fanzha.org.models import Unit

from ..models import ActivityKind, Campaign
from ..spec import ReachOption, is_places


@dataclass(frozen=True)
class RecordOptions:
    """The kinds offered (``ActivityKind`` order) and the reach dimensions (empty: no outreach counting)."""

    kinds: tuple[str, ...]
    groups: tuple[ReachOption, ...] = ()
    channels: tuple[ReachOption, ...] = ()

    @property
    def reach(self) -> bool:
        return bool(self.groups or self.channels)

    @property
    def by_place(self) -> bool:
        """The channels are kinds of place (police "five into"): the form asks for place kind and place."""
        return is_places(self.channels)

    def kind_choices(self) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in ActivityKind.choices if value in self.kinds]


ALL_KINDS = RecordOptions(tuple(ActivityKind.values))


def ancestor_paths(paths: Iterable[str]) -> set[str]:
    """Every path on the way to each of ``paths`` (the paths themselves included)."""
    return {p[:end] for p in paths for end in range(Unit.steplen, len(p) + 1, Unit.steplen)}


def campaigns_over(units: Iterable[Unit]) -> list[Campaign]:
    """The active campaigns whose unit is one of ``units`` or above one: the plans their records serve."""
    paths = ancestor_paths(u.path for u in units)
    if not paths:
        return []
    return list(
        Campaign.objects.filter(status=Campaign.Status.ACTIVE, unit__path__in=paths).order_by(
            "starts_on", "pk"
        )
    )


def options_of(campaigns: Iterable[Campaign]) -> RecordOptions:
    """The union of what the campaigns' templates declare; every kind as soon as one declares none."""
    kinds: set[str] = set()
    groups: dict[str, ReachOption] = {}
    channels: dict[str, ReachOption] = {}
    specs = [c.spec() for c in campaigns]
    for spec in specs:
        kinds |= set(spec.record_kinds)
        if spec.reach is not None:
            for g in spec.reach.groups:
                groups.setdefault(g.code, g)
            for c in spec.reach.channels:
                channels.setdefault(c.code, c)
    if not specs or any(not spec.record_kinds for spec in specs):
        kinds = set(ActivityKind.values)
    ordered = tuple(k for k in ActivityKind.values if k in kinds)
    return RecordOptions(ordered, tuple(groups.values()), tuple(channels.values()))


def record_options(units: Iterable[Unit]) -> RecordOptions:
    """What a record for any of ``units`` may say (see the module's docstring)."""
    return options_of(campaigns_over(units))
