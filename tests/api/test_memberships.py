"""Memberships through the API: create (idempotent), delete, filters, fixed query counts."""

from __future__ import annotations

import pytest

from fanzha.org import actions
from fanzha.org.models import Membership
from tests.api.conftest import API, client_for

pytestmark = pytest.mark.django_db


def test_create_and_delete(cast, api):
    client = api("college_admin")
    created = client.post(
        f"{API}/memberships/", {"person": cast.monitor.pk, "unit": cast.cs2302.pk, "role": "member"}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["person"] == cast.monitor.pk and body["unit"] == cast.cs2302.pk
    assert body["person_name"] == "李四" and body["unit_name"] == "计科2302班" and body["role"] == "member"

    again = client.post(
        f"{API}/memberships/", {"person": cast.monitor.pk, "unit": cast.cs2302.pk, "role": "member"}
    )
    assert again.status_code == 201 and again.json()["id"] == body["id"]  # idempotent
    assert Membership.objects.filter(person=cast.monitor, unit=cast.cs2302).count() == 1

    assert client.delete(f"{API}/memberships/{body['id']}/").status_code == 204
    assert not Membership.objects.filter(pk=body["id"]).exists()
    assert client.delete(f"{API}/memberships/{body['id']}/").status_code == 404


def test_default_role_is_member(cast, api):
    response = api("school_admin").post(
        f"{API}/memberships/", {"person": cast.math_student.pk, "unit": cast.cs2301.pk}
    )
    assert response.status_code == 201 and response.json()["role"] == "member"


def test_unknown_role_is_400(cast, api):
    response = api("school_admin").post(
        f"{API}/memberships/", {"person": cast.student.pk, "unit": cast.cs2301.pk, "role": "king"}
    )
    assert response.status_code == 400 and "role" in response.json()


def test_invisible_person_reads_like_a_missing_one(cast, api):
    client = api("school_admin")
    hidden = client.post(
        f"{API}/memberships/", {"person": cast.other_student.pk, "unit": cast.cs2301.pk}
    ).json()
    missing = client.post(f"{API}/memberships/", {"person": 987654, "unit": cast.cs2301.pk}).json()
    assert set(hidden) == set(missing) == {"person"}
    assert hidden["person"][0].replace(str(cast.other_student.pk), "N") == missing["person"][0].replace(
        "987654", "N"
    )


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"unit": "cs2301"}, {"张三@member", "李四@monitor"}),
        ({"under": "uni", "role": "monitor"}, {"李四@monitor"}),
        ({"under": "d1"}, {"张三@member", "王五@member"}),
        ({"person": "student"}, {"张三@member"}),  # twice: the class and the dormitory room
        ({"person": "other_student"}, set()),
        ({"under": "oc01"}, set()),
    ],
)
def test_filters(cast, api, params, expected):
    params = {k: getattr(cast, v).pk if k != "role" else v for k, v in params.items()}
    response = api("school_admin").get(f"{API}/memberships/", params)
    assert response.status_code == 200
    assert {f"{m['person_name']}@{m['role']}" for m in response.json()["results"]} == expected


@pytest.mark.parametrize("count", [5, 40])
def test_list_query_count_is_fixed(cast, django_assert_num_queries, count):
    for i in range(count):
        person = actions.save_person(
            root=cast.uni, name=f"学生{i}", kind="student", external_number=f"9{i:05d}"
        )
        actions.add_membership(person, cast.cs2302)
    client = client_for(cast.college_admin)
    # token + grants (scope) + count + one page of rows with person and unit joined
    with django_assert_num_queries(4):
        response = client.get(f"{API}/memberships/", {"page_size": 500})
    assert response.json()["count"] == 3 + count  # and 张三's room, reached through the class
