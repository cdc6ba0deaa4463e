"""The unit pages stay fast on a big tree (issue 15, item 5): the people under each child unit come
from one grouped query over an index range, never a correlated ``LIKE path || '%'`` per child (no
index can serve a pattern built from a column, so each child scanned the memberships again)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fanzha.org import actions

CHILDREN = 30


def grow_colleges(cast, n: int = CHILDREN) -> None:
    """``n`` more colleges under the university, each with one class of two students."""
    for i in range(n):
        college = actions.create_unit(parent=cast.uni, name=f"学院{i}", code=f"C{i}", kind="college")
        klass = actions.create_unit(parent=college, name=f"班级{i}", code=f"K{i}", kind="class")
        for j in range(2):
            person = actions.save_person(root=cast.uni, name=f"学生{i}-{j}", kind="student")
            actions.add_membership(person, klass)


def pattern_subqueries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries if "|| '%'" in q["sql"] or "||'%'" in q["sql"]]


def test_unit_page_counts_children_people_in_one_query(client, cast, django_assert_max_num_queries):
    grow_colleges(cast)
    client.force_login(cast.school_admin)
    url = reverse("unit_detail", args=[cast.uni.pk])
    assert pattern_subqueries(client, url) == []
    with django_assert_max_num_queries(18):  # the same with 3 children as with 33
        response = client.get(url)
    people = {c.code: c.people for c in response.context["children"].page}
    assert people["CS"] == 2 and people["C7"] == 2 and len(people) == CHILDREN + 3


def test_unit_list_counts_people_in_one_query(client, cast, django_assert_max_num_queries):
    grow_colleges(cast)
    client.force_login(cast.school_admin)
    url = reverse("unit_list") + "?q=学院"
    assert pattern_subqueries(client, url) == []
    with django_assert_max_num_queries(8):
        response = client.get(url)
    people = {row["unit"].code: row["unit"].people for row in response.context["rows"]}
    assert people["CS"] == 2 and people["C3"] == 2
