"""The coverage matrix stays fast on a big roster (issue 15, item 5): inside the user's own tree scope
the roster is not filtered again by ``people_for`` (a correlated subquery over every membership of the
scope, run by each of the page's queries), and the roster is counted once."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fanzha.org import actions


def grow(cast, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        person = actions.save_person(
            root=cast.uni, name=f"学生{i}", kind="student", external_number=f"29{i:05}"
        )
        actions.add_membership(person, cast.cs2302)


def test_matrix_in_own_scope_skips_the_scope_subquery(client, cast, campaign, django_assert_max_num_queries):
    grow(cast, 5)
    client.force_login(cast.school_admin)
    url = reverse("reach_matrix", args=[cast.uni.pk, campaign.pk])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    people = [q["sql"] for q in ctx.captured_queries if 'FROM "org_person"' in q["sql"]]
    assert people and not [q for q in people if "org_guardianship" in q]  # no people_for filter
    assert sum(q.startswith("SELECT COUNT(") for q in people) == 1  # the page count is the totals' one
    before = response.context["page"].paginator.count
    grow(cast, 40, start=5)
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        response = client.get(url)
    assert response.context["page"].paginator.count == before + 40
