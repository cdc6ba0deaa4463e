"""Units through the API: shape, filters, pagination, writes through actions, fixed query counts."""

from __future__ import annotations

import pytest

from fanzha.org import actions
from fanzha.org.actions import UnitSpec
from fanzha.org.models import Unit, UnitEvent
from tests.api.conftest import API, client_for

pytestmark = pytest.mark.django_db


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [u["code"] for u in response.json()["results"]]


def test_unit_shape(cast, api):
    body = api("school_admin").get(f"{API}/units/{cast.cs.pk}/").json()
    assert body == {
        "id": cast.cs.pk,
        "name": "计算机学院",
        "code": "CS",
        "kind": "college",
        "parent": cast.uni.pk,
        "path": cast.cs.path,
        "depth": 2,
        "is_active": True,
        "children_count": 2,
    }


def test_parent_is_hidden_when_outside_scope(cast, api):
    """A college admin's top unit shows no parent: the school above is outside their scope."""
    client = api("college_admin")
    assert client.get(f"{API}/units/{cast.cs.pk}/").json()["parent"] is None
    assert client.get(f"{API}/units/{cast.cs2301.pk}/").json()["parent"] == cast.cs.pk


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"kind": "class"}, ["CS2301", "CS2302", "MA2301"]),
        ({"depth": 2}, ["CS", "MA", "D1"]),
        ({"parent": "cs"}, ["CS2301", "CS2302"]),
        ({"under": "cs"}, ["CS", "CS2301", "CS2302"]),
        ({"under": "oc01"}, []),  # another school's unit: nothing, as for a missing id
        ({"under": 987654}, []),
        ({"q": "计科"}, ["CS2301", "CS2302"]),
        ({"q": "sx"}, ["MA", "MA2301"]),  # pinyin initials of 数学
        ({"q": "d1"}, ["D1", "D1-101"]),
        ({"kind": "class", "under": "ma"}, ["MA2301"]),
    ],
)
def test_filters(cast, api, params, expected):
    params = {
        k: getattr(cast, v).pk if isinstance(v, str) and k in {"parent", "under"} else v
        for k, v in params.items()
    }
    assert codes(api("school_admin").get(f"{API}/units/", params)) == expected


def test_bad_filter_value_is_400(cast, api):
    assert api("school_admin").get(f"{API}/units/", {"kind": "nonsense"}).status_code == 400
    assert api("school_admin").get(f"{API}/units/", {"under": "abc"}).status_code == 400


def test_pagination(cast, api):
    client = api("school_admin")
    first = client.get(f"{API}/units/", {"page_size": 3}).json()
    assert first["count"] == 8
    assert [u["code"] for u in first["results"]] == ["UNI", "CS", "CS2301"]
    assert "page=2" in first["next"]
    second = client.get(first["next"]).json()
    assert [u["code"] for u in second["results"]] == ["CS2302", "MA", "MA2301"]
    assert client.get(f"{API}/units/", {"page": 9}).status_code == 404


def test_create_goes_through_actions(cast, api):
    response = api("college_admin").post(
        f"{API}/units/", {"parent": cast.cs.pk, "name": "计科2303班", "code": "CS2303", "kind": "class"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    unit = Unit.objects.get(pk=body["id"])
    assert body["parent"] == cast.cs.pk and body["depth"] == 3
    assert unit.initials.startswith("jk") and unit.parent_path == cast.cs.path
    event = UnitEvent.objects.get(unit=unit)
    assert event.kind == "created" and event.actor == cast.college_admin


def test_create_duplicate_code_is_400_with_message(cast, api):
    response = api("school_admin").post(
        f"{API}/units/", {"parent": cast.cs.pk, "name": "重复", "code": "CS2301", "kind": "class"}
    )
    assert response.status_code == 400
    assert response.json() == {"code": ["同一上级下已有代码为 CS2301 的单位"]}


def test_create_needs_a_parent(cast, api):
    response = api("school_admin").post(f"{API}/units/", {"name": "新校", "code": "NEW", "kind": "school"})
    assert response.status_code == 400
    assert "parent" in response.json()
    assert not Unit.objects.filter(code="NEW").exists()


def test_invisible_parent_reads_like_a_missing_one(cast, api):
    client = api("college_admin")
    body = {"name": "x", "code": "X1", "kind": "class"}
    hidden = client.post(f"{API}/units/", {**body, "parent": cast.ma.pk}).json()
    missing = client.post(f"{API}/units/", {**body, "parent": 987654}).json()
    assert hidden["parent"][0].replace(str(cast.ma.pk), "N") == missing["parent"][0].replace("987654", "N")


def test_update_renames_and_recodes(cast, api):
    response = api("college_admin").patch(
        f"{API}/units/{cast.cs2302.pk}/", {"name": "计科2302班(新)", "code": "CS2302N"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["code"] == "CS2302N"
    kinds = set(UnitEvent.objects.filter(unit=cast.cs2302).values_list("kind", flat=True))
    assert {"renamed", "recoded"} <= kinds


def test_update_ignores_read_only_fields(cast, api):
    response = api("school_admin").patch(f"{API}/units/{cast.cs2302.pk}/", {"kind": "school", "path": "0009"})
    assert response.status_code == 200
    cast.cs2302.refresh_from_db()
    assert cast.cs2302.kind == "class" and cast.cs2302.path.startswith(cast.cs.path)


def test_update_to_a_sibling_code_is_400(cast, api):
    response = api("school_admin").patch(f"{API}/units/{cast.cs2302.pk}/", {"code": "CS2301"})
    assert response.status_code == 400
    assert response.json() == {"code": ["同一上级下已有代码为 CS2301 的单位"]}


def test_move(cast, api):
    response = api("school_admin").post(f"{API}/units/{cast.cs2302.pk}/move/", {"parent": cast.ma.pk})
    assert response.status_code == 200, response.content
    assert response.json()["parent"] == cast.ma.pk
    cast.cs2302.refresh_from_db()
    assert cast.cs2302.path.startswith(cast.ma.path) and cast.cs2302.parent_path == cast.ma.path
    assert UnitEvent.objects.filter(unit=cast.cs2302, kind="moved").exists()


def test_move_under_itself_is_400_and_changes_nothing(cast, api):
    response = api("school_admin").post(f"{API}/units/{cast.cs.pk}/move/", {"parent": cast.cs2301.pk})
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["不能把单位移动到它自己或它的下级之下"]}
    cast.cs.refresh_from_db()
    assert cast.cs.parent_path == cast.uni.path


def test_browsable_api_renders(cast, api):
    response = api("school_admin").get(f"{API}/units/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert "计算机学院" in response.content.decode()


def _grow(cast, count: int) -> None:
    specs = [UnitSpec(name=f"宿舍{i:03d}", code=f"R{i:03d}", kind="dorm_room") for i in range(count)]
    actions.bulk_create_children(cast.d1_101, specs)


@pytest.mark.parametrize("count", [5, 40])
def test_list_query_count_is_fixed(cast, django_assert_num_queries, count):
    _grow(cast, count)
    client = client_for(cast.school_admin)
    # token + grants (scope) + count + one page of rows (parent ids come in the same query)
    with django_assert_num_queries(4):
        response = client.get(f"{API}/units/", {"page_size": 500})
    assert response.json()["count"] == 8 + count
