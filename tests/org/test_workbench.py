"""Issue 15, Deliver 1 and finding 4: the home page is the role's workbench, top to bottom: urgent
work, what is due this week, the few common actions, then every other link folded under 全部功能;
and its links fit the role (no school wording for a bank, no promises to a read-only auditor)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fanzha.org.models import Role
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


def home(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def test_urgent_first_then_this_week_then_common_actions_then_the_rest_folded(client, cast):
    for user in (cast.school_admin, cast.counsellor, cast.police_liaison):
        body = home(client, user)
        places = [body.index(marker) for marker in ('id="wb-urgent"', 'id="wb-week"', 'id="wb-common"')]
        assert places == sorted(places), user
        folded = body.index('<details class="card panel" id="wb-all">')
        assert folded > places[-1]
        assert body.count("<li>", body.index('id="wb-common"'), folded) <= 6
    # the grants and the scope's size are no longer cards of their own above the work
    assert "管辖人员" not in home(client, cast.school_admin)


def test_a_bank_administrators_links_speak_of_the_bank_not_of_students(client, county_cast):
    bank_admin = make_staff(county_cast.bank, "B0001", "行长", Role.BANK_ADMIN, county_cast.bank)
    body = home(client, bank_admin)
    assert "学生被骗" not in body and "班级群" not in body
    assert reverse("case_quick") in body  # they report cases too, in neutral words


def test_only_who_may_remind_is_promised_one_click_reminders(client, cast):
    assert "一键提醒" in home(client, cast.school_admin)
    assert "一键提醒" not in home(client, cast.auditor)
    assert "一键提醒" not in home(client, cast.police_liaison)
