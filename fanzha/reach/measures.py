"""The coverage figure behind a measured obligation ("every parent notice signed", the app's "three
100 %"), handed to ``campaigns.compliance`` through ``core.hooks.measure``.

Why here: the figure is reach's roster and attestations; campaigns sits below reach and may not import
it. The figure is the one the reach pages show: the people of the unit that the campaign tracks, whom
the item concerns, with a declared or verified attestation.

Why batched: the compliance snapshot asks for the figure of every unit with a measured obligation (every
class of a province), so the figures of all units at one depth come from one aggregate query over their
subtrees' memberships, grouped by the subtree (the path prefix); a person with several places in one
subtree counts once (``COUNT(DISTINCT …)``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Substr

from fanzha.core.hooks import Measured
from fanzha.org.models import Membership, PersonKind, Unit
from fanzha.org.scope import Cap, people_for

from .models import COUNTED, Attestation
from .queries import APP_ITEMS, CHILD_ONLY, roster, tracked_kinds

APP_ALL = "app_all"


def _lacking(campaign: Any, items: Sequence[str], person: str) -> Q:
    """People (``person``: the field naming them) without a counted attestation of some item of ``items``."""
    return reduce(
        or_,
        [
            ~Q(
                Exists(
                    Attestation.objects.filter(
                        campaign=campaign, item=i, status__in=COUNTED, person=OuterRef(person)
                    )
                )
            )
            for i in items
        ],
    )


def unit_measures(
    campaign: Any, item: str, units: Sequence[Unit], missing_limit: int = 0, user: Any = None
) -> dict[int, Measured]:
    """Each unit's figure on ``item`` ("app_all": all three app items): one query per depth of the units
    (and per organisation), however many units; with ``missing_limit``, one more per unit for the names.

    With ``user``, only the people the user may see are counted and named (``reach.queries.roster``).
    """
    items = tuple(APP_ITEMS) if item == APP_ALL else (item,)
    kinds: list[str] = list(tracked_kinds(campaign))
    if any(i in CHILD_ONLY for i in items):
        kinds = [kind for kind in kinds if kind == PersonKind.STUDENT]
    groups: dict[tuple[int, str], list[Unit]] = defaultdict(list)
    for unit in units:
        groups[(len(unit.path), unit.root_path)].append(unit)
    counts: dict[str, tuple[int, int]] = {}
    for (depth, root_path), group in groups.items():
        places = Membership.objects.annotate(subtree=Substr("unit__path", 1, depth)).filter(
            subtree__in=[unit.path for unit in group],
            person__root__path=root_path,
            person__is_active=True,
            person__kind__in=kinds,
        )
        if user is not None:
            places = places.filter(person_id__in=people_for(user, Cap.VIEW).values("pk"))
        rows = places.values("subtree").annotate(
            total=Count("person_id", distinct=True),
            missing=Count("person_id", distinct=True, filter=_lacking(campaign, items, "person_id")),
        )
        counts.update({row["subtree"]: (row["total"], row["missing"]) for row in rows})
    result: dict[int, Measured] = {}
    for unit in units:
        total, missing = counts.get(unit.path, (0, 0))
        names: tuple[str, ...] = ()
        if missing_limit and missing:
            people = (
                roster(campaign, unit, user).filter(kind__in=kinds).filter(_lacking(campaign, items, "pk"))
            )
            names = tuple(people.values_list("name", flat=True)[:missing_limit])
        result[unit.pk] = Measured(done=total - missing, total=total, missing=names)
    return result
