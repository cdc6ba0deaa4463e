"""The one way of counting people (issue 15): the distinct people with a membership in a unit's subtree.

Why one definition: the school's home page counted everyone its scope lets it see (guardians too, 40,968)
while the units page counted members (15,590). A guardian is reached through a child, not enrolled in a
unit, so people are counted by membership and the label says so (``PEOPLE_LABEL``). Every page that
shows such a number (home page, units list, unit page) reads it from here.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Func, OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from .models import Membership, Unit
from .scope import path_q, people_for, reached_only, tree_paths

PEOPLE_LABEL = _("人员（不含家长）")  # the label beside every such count
SUBTREE_PEOPLE_LABEL = _("人员（含下级，不含家长）")


def subtree_people(outer: str = "path") -> Subquery:
    """Distinct people with a membership anywhere under the outer unit, as a correlated subquery."""
    count = Func(F("person_id"), function="COUNT", template="COUNT(DISTINCT %(expressions)s)")
    return Subquery(
        Membership.objects.filter(unit__path__startswith=OuterRef(outer))
        .order_by()
        .annotate(n=count)
        .values("n")[:1]
    )


def people_in_scope(user: Any) -> int:
    """Distinct people with a membership in the subtrees of the user's grants (guardians not counted)."""
    paths = tree_paths(user)
    if not paths:
        return 0
    return Membership.objects.filter(path_q(paths, "unit__path")).values("person_id").distinct().count()


def people_in_unit(user: Any, unit: Unit) -> int:
    """Distinct people with a membership in ``unit``'s subtree; in a room the user reaches only through
    their students (``scope.reached_only``), those students."""
    members = Membership.objects.filter(unit__path__startswith=unit.path)
    if reached_only(user, unit):
        members = members.filter(person__in=people_for(user))
    return members.values("person_id").distinct().count()
