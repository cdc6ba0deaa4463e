"""The demo shows issue 13's features (items 9 and 10): activities whose attendance proves the
attendees' items, a few students recorded for renting or selling cards with handling and education,
and a parent login of a middle-school class who finds the notice to sign and the app to install.

One tiny world, built once for the module's single test (seconds)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from fanzha.campaigns.models import Activity, ActivityKind
from fanzha.cases.models import CardFraudRecord, CardHandling
from fanzha.org import demo
from fanzha.reach.models import AttestationProof, ClassLink, Item

TINY = "0.02"


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_demo_shows_attendance_proofs_card_fraud_and_the_parent_login(client):
    printed = run("demo", "--no-serve", "--scale", TINY)

    # Attendance that proves items: a training at the counsellor's class, a first lesson at the pupil's.
    for kind, item in ((ActivityKind.TRAINING, Item.TRAINING_ATTENDED), (ActivityKind.FIRST_LESSON, None)):
        activity = Activity.objects.filter(kind=kind, title__contains="（签到）").first()
        assert activity is not None and activity.attendances.exists(), kind
        proofs = AttestationProof.objects.filter(activity=activity)
        assert proofs.exists(), kind
        if item:
            assert {p.attestation.item for p in proofs} == {item}

    # Card fraud: a few students of the university, handled and educated, with one still pending.
    cards = CardFraudRecord.objects.all()
    assert cards.count() >= 3
    assert cards.filter(handling=CardHandling.PENDING).exists()
    assert cards.exclude(handling=CardHandling.PENDING).exclude(education="").exists()
    assert all(r.events.exists() for r in cards)

    # The parent login is printed with the others and finds their items on /me/.
    rows = {r["role"]: r for r in json.loads(run("demo-logins", "--json"))}
    parent = rows["pupil_parent"]
    assert parent["login"] and parent["login"] in printed and parent["name"] in printed
    pupil = demo.demo_pupil()
    assert pupil is not None and pupil.name in parent["scope"]
    klass = pupil.memberships.get(unit__kind="class").unit
    assert ClassLink.objects.filter(unit=klass).exists()
    response = client.post(
        "/login/", {"username": parent["login"], "password": settings.FANZHA_DEMO_PASSWORD}
    )
    assert response.status_code == 302
    html = client.get(reverse("member_home")).content.decode()
    assert "家长防骗告知书" in html and "安装国家反诈中心APP" in html and "未完成" in html
    assert f"为{pupil.name}签署" in html and "登记安装" in html  # both still to do, with their buttons

    # A second run adds nothing.
    before = (CardFraudRecord.objects.count(), Activity.objects.filter(title__contains="（签到）").count())
    run("demo", "--no-serve", "--scale", TINY)
    assert (
        CardFraudRecord.objects.count(),
        Activity.objects.filter(title__contains="（签到）").count(),
    ) == before
