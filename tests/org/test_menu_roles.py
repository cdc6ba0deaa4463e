"""Menus fit the role (issue 15): every entry a role's menu shows opens a page that answers 200 for it,
pages that would be empty for the role (the coverage of classes for a bank or a police station) are not
offered, and nothing promises an action the role cannot take (一键提醒, 待我签署 for the auditor)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fanzha.org import actions
from fanzha.org.models import Role
from tests.conftest import PASSWORD, make_staff
from tests.org.test_nav import menus, quick_links

pytestmark = pytest.mark.django_db


def test_every_menu_entry_answers_200_for_each_role(client, county_cast):
    users = county_cast.users()
    users["bank_admin"] = make_staff(
        county_cast.bank, "B0009", "银行管理员", Role.BANK_ADMIN, county_cast.bank
    )
    assert len(users) >= 15
    for who, user in users.items():
        client.force_login(user)
        response = client.get(reverse("notification_list"))
        links = set(menus(response.content.decode())[-1])
        assert links, who
        for url in sorted(links):
            page = client.get(url, follow=True)
            assert page.status_code == 200, (who, url)
            # a student's or parent's "我的信息" is their own page, never the people search
            if who in ("student", "parent"):
                assert page.resolver_match.url_name != "person_list", (who, url)


def test_pages_empty_for_the_role_are_not_offered(client, county_cast):
    bank_admin = make_staff(county_cast.bank, "B0009", "银行管理员", Role.BANK_ADMIN, county_cast.bank)
    reach, tips = reverse("reach_index"), reverse("learn_tip_schedules")
    for user in (bank_admin, county_cast.branch_manager, county_cast.police_officer):
        client.force_login(user)
        body = client.get(reverse("home")).content.decode()
        assert reach not in menus(body)[0]  # the coverage of classes: a bank or station has none
        assert f'href="{reach}"' not in body and f'href="{tips}"' not in body  # nor class-group tips
        assert "班级群" not in body and "学生被骗" not in body
    client.force_login(county_cast.school_admin)
    body = client.get(reverse("home")).content.decode()
    assert reach in menus(body)[0] and f'href="{tips}"' in body


def test_the_auditor_is_promised_no_action(client, cast):
    client.force_login(cast.auditor)
    for name in ("home", "reach_index", "letter_index"):
        body = client.get(reverse(name)).content.decode()
        assert "一键提醒" not in body and "待我签署" not in body, name
    client.force_login(cast.school_admin)
    body = client.get(reverse("home")).content.decode()
    assert "一键提醒" in body and "待我签署" in body


def test_my_information_is_my_own_record_without_member_pages(client, cast):
    """A member whose person has no unit nor child (no /me/ page) sees their own record, not a search."""
    person = actions.save_person(root=cast.uni, name="新同学", kind="student", external_number="S9999")
    user = actions.create_account(person, PASSWORD)
    client.force_login(user)
    response = client.get(reverse("person_list"))
    assert response.status_code == 302 and response.url == reverse("person_detail", args=[person.pk])
    assert client.get(response.url).status_code == 200


def test_every_home_link_answers_200_for_each_role(client, county_cast):
    """The home page's quick links follow the same rule as the menu: none leads to a 403 or a 404."""
    users = county_cast.users()
    users["bank_admin"] = make_staff(
        county_cast.bank, "B0009", "银行管理员", Role.BANK_ADMIN, county_cast.bank
    )
    for who, user in users.items():
        client.force_login(user)
        home = client.get(reverse("home"), follow=True)
        for url in quick_links(home.content.decode()):
            assert client.get(url, follow=True).status_code == 200, (who, url)
