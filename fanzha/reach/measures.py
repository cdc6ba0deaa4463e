"""The coverage figure behind a measured obligation ("every parent notice signed", the app's "three
100 %"), handed to ``campaigns.compliance`` through ``core.hooks.measure``.

Why here: the figure is reach's roster and attestations; campaigns sits below reach and may not import
it. The figure is the one the reach pages show: the people of the unit that the campaign tracks, whom
the item concerns, with a declared or verified attestation.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Exists, OuterRef, Q

from fanzha.core.hooks import Measured
from fanzha.org.models import PersonKind, Unit

from .models import COUNTED, Attestation
from .queries import APP_ITEMS, CHILD_ONLY, roster

APP_ALL = "app_all"


def unit_measures(
    campaign: Any, item: str, units: Sequence[Unit], missing_limit: int = 0, user: Any = None
) -> dict[int, Measured]:
    """Each unit's figure on ``item`` ("app_all": all three app items); two queries per unit, plus the names.

    With ``user``, only the people the user may see are counted and named (``reach.queries.roster``).
    """
    items = tuple(APP_ITEMS) if item == APP_ALL else (item,)
    lacking = reduce(
        or_,
        [
            ~Q(
                Exists(
                    Attestation.objects.filter(
                        campaign=campaign, item=i, status__in=COUNTED, person=OuterRef("pk")
                    )
                )
            )
            for i in items
        ],
    )
    result: dict[int, Measured] = {}
    for unit in units:
        people = roster(campaign, unit, user)
        if any(i in CHILD_ONLY for i in items):
            people = people.filter(kind=PersonKind.STUDENT)
        total = people.count()
        missing = people.filter(lacking)
        names: tuple[str, ...] = ()
        if missing_limit:
            names = tuple(missing.values_list("name", flat=True)[:missing_limit])
        result[unit.pk] = Measured(done=total - missing.count(), total=total, missing=names)
    return result
