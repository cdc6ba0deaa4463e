"""Phone-first counsellor pages (issue 15, finding 8): a dormitory room is named with its building,
and the coverage matrix carries a label on every cell so a phone can stack it into cards."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.reach.conftest import make_campaign

pytestmark = pytest.mark.django_db


def test_a_dormitory_room_is_shown_with_its_building(client, county_cast):
    cast = county_cast
    client.force_login(cast.dorm_manager)
    html = client.get(reverse("reach_index")).content.decode()
    assert "一号宿舍楼 101室" in html
    page = client.get(reverse("reach_unit", args=[cast.d1_101.pk])).content.decode()
    assert "<h1>一号宿舍楼 101室</h1>" in page


def test_the_record_form_names_rooms_with_their_building(client, county_cast):
    client.force_login(county_cast.dorm_manager)
    html = client.get(reverse("activity_record")).content.decode()
    assert "一号宿舍楼 101室" in html


def test_matrix_cells_carry_their_item_for_the_phone_cards(client, cast):
    campaign = make_campaign(cast)
    client.force_login(cast.counsellor)
    html = client.get(reverse("reach_matrix", args=[cast.cs2301.pk, campaign.pk])).content.decode()
    assert 'class="table matrix stack"' in html
    cells = re.findall(r'<td class="cell[^"]*" data-label="([^"]*)"', html)
    assert cells and all(cells) and html.count('<td class="cell') == len(cells)
