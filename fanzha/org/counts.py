"""The one way of counting people (issue 15): the distinct people with a membership in a unit's subtree.

Why one definition: the school's home page counted everyone its scope lets it see (guardians too, 40,968)
while the units page counted members (15,590). A guardian is reached through a child, not enrolled in a
unit, so people are counted by membership and the label beside the number says so ("人员（不含家长）").
Every page that shows such a number (units list, unit page) reads it from here; the home page is now
the role's workbench and shows work, not the size of the scope.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Func, OuterRef, Subquery

from .models import Membership, Unit
from .scope import people_for, reached_only


def subtree_people(outer: str = "path") -> Subquery:
    """Distinct people with a membership anywhere under the outer unit, as a correlated subquery."""
    count = Func(F("person_id"), function="COUNT", template="COUNT(DISTINCT %(expressions)s)")
    return Subquery(
        Membership.objects.filter(unit__path__startswith=OuterRef(outer))
        .order_by()
        .annotate(n=count)
        .values("n")[:1]
    )


def people_in_unit(user: Any, unit: Unit) -> int:
    """Distinct people with a membership in ``unit``'s subtree; in a room the user reaches only through
    their students (``scope.reached_only``), those students."""
    members = Membership.objects.filter(unit__path__startswith=unit.path)
    if reached_only(user, unit):
        members = members.filter(person__in=people_for(user))
    return members.values("person_id").distinct().count()
