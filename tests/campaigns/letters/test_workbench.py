"""Issue 15, Deliver 1 and finding 4: responsibility letters on the workbench. Those who sign see how
many letters wait for their signature (as many as the letters page lists for them) and with whom;
a read-only auditor is not promised letters to sign."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fanzha.campaigns.letters import actions

pytestmark = pytest.mark.django_db

LABEL = "待我签署的责任书"


def urgent(client, user):
    client.force_login(user)
    response = client.get(reverse("home"))
    return {w.label: w for w in response.context["urgent"]}, response.content.decode()


def test_letters_to_sign_equal_the_letters_page_and_name_the_other_party(client, cast, campaign):
    actions.generate_letters(campaign, cast.school_admin)
    items, _body = urgent(client, cast.school_admin)
    item = items[LABEL]
    page = client.get(item.url)
    assert item.count == len(page.context["to_sign"]) > 0
    # the school signs the upper side of its letters with the colleges
    assert "计算机学院" in item.hint and "数学学院" in item.hint


def test_the_auditor_is_not_promised_letters_to_sign(client, cast, campaign):
    actions.generate_letters(campaign, cast.school_admin)
    items, body = urgent(client, cast.auditor)
    assert LABEL not in items
    assert "待我签署" not in body and "一键提醒" not in body
