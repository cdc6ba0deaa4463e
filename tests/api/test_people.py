"""People through the API: masking, validation, filters, pagination, fixed query counts."""

from __future__ import annotations

import pytest

from fanzha.org import actions
from fanzha.org.models import Membership, Person
from tests.api.conftest import API, client_for

pytestmark = pytest.mark.django_db

PHONE = "13800138000"  # the cast student's phone
ID_NUMBER = "11010519491231002X"  # the cast student's ID number
NEW_PHONE = "13712345678"
NEW_ID = "110101199003077897"


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["name"] for p in response.json()["results"]]


def test_person_shape_is_masked(cast, api):
    body = api("counsellor").get(f"{API}/people/{cast.student.pk}/").json()
    assert body == {
        "id": cast.student.pk,
        "name": "张三",
        "kind": "student",
        "external_number": "2023001",
        "gender": "m",
        "birth_year": 2005,
        "enrolment_year": 2023,
        "is_active": True,
        "phone_masked": "138****8000",
        "id_number_masked": "110***********002X",
    }


def test_plain_numbers_never_leave_in_any_response(cast, api):
    """List, retrieve, create, update and the browsable page: only masked numbers, ever."""
    client = api("school_admin")
    secrets = [PHONE, ID_NUMBER, NEW_PHONE, NEW_ID, "13800138000".replace("138", "+86 138")]
    bodies = [
        client.get(f"{API}/people/").content,
        client.get(f"{API}/people/{cast.student.pk}/").content,
        client.get(f"{API}/people/{cast.student.pk}/", HTTP_ACCEPT="text/html").content,
        client.get(f"{API}/people/", HTTP_ACCEPT="text/html").content,
        client.post(
            f"{API}/people/",
            {
                "name": "新同学",
                "kind": "student",
                "unit": cast.cs2301.pk,
                "phone": NEW_PHONE,
                "id_number": NEW_ID,
            },
        ).content,
        client.patch(f"{API}/people/{cast.student.pk}/", {"phone": PHONE, "id_number": ID_NUMBER}).content,
        client.put(
            f"{API}/people/{cast.student.pk}/", {"name": "张三", "kind": "student", "phone": PHONE}
        ).content,
    ]
    for body in bodies:
        text = body.decode()
        for secret in secrets:
            assert secret not in text
            assert secret.lower() not in text
    assert "137****5678" in bodies[4].decode()


def test_create_enrols_in_the_unit(cast, api):
    response = api("counsellor").post(
        f"{API}/people/",
        {
            "name": "新同学",
            "kind": "student",
            "unit": cast.cs2301.pk,
            "role": "committee",
            "external_number": "2023555",
            "phone": "+86 137-1234-5678",
            "id_number": NEW_ID.lower(),
        },
    )
    assert response.status_code == 201, response.content
    person = Person.objects.get(pk=response.json()["id"])
    assert person.root == cast.uni
    assert person.phone == NEW_PHONE and person.id_number == NEW_ID
    assert person.initials == "xtx"
    assert Membership.objects.filter(person=person, unit=cast.cs2301, role="committee").exists()
    assert response.json()["phone_masked"] == "137****5678"


def test_create_without_unit_is_400(cast, api):
    response = api("school_admin").post(f"{API}/people/", {"name": "无处可去", "kind": "staff"})
    assert response.status_code == 400
    assert response.json() == {"unit": ["新建人员时必须指定所在单位"]}
    assert not Person.objects.filter(name="无处可去").exists()


def test_update_cannot_change_unit(cast, api):
    response = api("school_admin").patch(f"{API}/people/{cast.student.pk}/", {"unit": cast.ma2301.pk})
    assert response.status_code == 400
    assert "unit" in response.json()
    assert not cast.student.memberships.filter(unit=cast.ma2301).exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("phone", "12345", "手机号格式不正确"),
        ("phone", "+1 202 555 0100", "手机号格式不正确"),
        ("id_number", "1101051949123100", "身份证号应为18位"),
        ("id_number", "110105194912310021", "身份证号校验位错误"),
    ],
)
def test_invalid_numbers_are_400_with_message(cast, api, field, value, message):
    before = Person.objects.values_list("phone_enc", "id_number_enc").get(pk=cast.student.pk)
    response = api("school_admin").patch(f"{API}/people/{cast.student.pk}/", {field: value})
    assert response.status_code == 400
    assert response.json() == {field: [message]}
    assert value not in response.content.decode()
    assert Person.objects.values_list("phone_enc", "id_number_enc").get(pk=cast.student.pk) == before


def test_messages_follow_the_users_language(cast, api):
    client = api("school_admin")
    zh = client.post(f"{API}/people/", {"kind": "student", "unit": cast.cs2301.pk})
    en = client.post(f"{API}/people/", {"kind": "student", "unit": cast.cs2301.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert zh.json()["name"] == ["该字段是必填项。"]
    assert en.json()["name"] == ["This field is required."]


def test_update_and_clear_phone(cast, api):
    client = api("counsellor")
    response = client.patch(f"{API}/people/{cast.student.pk}/", {"phone": NEW_PHONE, "name": "张三丰"})
    assert response.status_code == 200, response.content
    assert response.json()["phone_masked"] == "137****5678"
    assert response.json()["id_number_masked"] == "110***********002X"  # untouched
    cast.student.refresh_from_db()
    assert cast.student.phone == NEW_PHONE and cast.student.initials == "zsf"
    cleared = client.patch(f"{API}/people/{cast.student.pk}/", {"phone": ""}).json()
    assert cleared["phone_masked"] == ""


def test_duplicate_number_is_400(cast, api):
    response = api("school_admin").patch(f"{API}/people/{cast.monitor.pk}/", {"external_number": "2023001"})
    assert response.status_code == 400
    assert response.json() == {"external_number": ["编号 2023001 已被使用"]}


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"kind": "parent"}, ["张父"]),
        ({"unit": "cs"}, ["张三", "李四"]),
        ({"unit": "d1"}, ["张三", "王五"]),
        ({"unit": "oc01"}, []),  # another school's unit answers like a missing one
        ({"q": "zs"}, ["张三"]),
        ({"q": "王"}, ["王五"]),
        ({"q": "20230"}, ["张三", "李四"]),
        ({"external_number": "2023101"}, ["王五"]),
        ({"kind": "student", "unit": "ma"}, ["王五"]),
    ],
)
def test_filters(cast, api, params, expected):
    params = {k: getattr(cast, v).pk if k == "unit" else v for k, v in params.items()}
    assert names(api("school_admin").get(f"{API}/people/", params)) == expected


def test_pagination(cast, api):
    body = api("school_admin").get(f"{API}/people/", {"page_size": 2}).json()
    assert body["count"] == 4 and len(body["results"]) == 2 and body["next"]


def _grow(cast, count: int) -> None:
    for i in range(count):
        person = actions.save_person(
            root=cast.uni,
            name=f"学生{i}",
            kind="student",
            external_number=f"9{i:05d}",
            phone=f"1380000{i:04d}",
        )
        actions.add_membership(person, cast.cs2302)


@pytest.mark.parametrize("who", ["school_admin", "counsellor", "parent"])
@pytest.mark.parametrize("count", [5, 40])
def test_list_query_count_is_fixed(cast, django_assert_num_queries, who, count):
    _grow(cast, count)
    client = client_for(cast.users()[who])
    # token + grants (scope) + count + one page of rows
    with django_assert_num_queries(4):
        response = client.get(f"{API}/people/", {"page_size": 500})
    assert response.status_code == 200
