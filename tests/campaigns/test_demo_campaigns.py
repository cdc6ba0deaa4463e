"""The demo world runs the six built-in campaigns: started, letters signed in part, work recorded."""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F
from django.utils import timezone

from fanzha.campaigns import compliance
from fanzha.campaigns import demo as campaign_demo
from fanzha.campaigns.activities import files
from fanzha.campaigns.models import (
    Activity,
    Attendance,
    Campaign,
    CampaignEvent,
    CampaignTemplate,
    Evidence,
    LetterSignature,
    Obligation,
    ResponsibilityLetter,
    SchoolCalendar,
)
from fanzha.campaigns.spec import builtin_templates
from fanzha.org import demo
from fanzha.org.models import Unit, UnitKind

TINY = "0.02"

ISSUERS = {
    "kindergarten-lesson": UnitKind.KINDERGARTEN,
    "university-fraud-free-campus": UnitKind.SCHOOL,
    "district-education-system": UnitKind.BUREAU_DISTRICT,
    "school-publicity": UnitKind.SCHOOL,
    "county-police-special-action": UnitKind.POLICE_BUREAU,
    "bank-publicity-month": UnitKind.BANK_HEAD,
}


def build(*args: str) -> str:
    out = StringIO()
    call_command("demo", "--no-serve", "--scale", TINY, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def world(db) -> str:
    return build()


def counts() -> dict[str, int]:
    models = [
        Campaign,
        CampaignTemplate,
        CampaignEvent,
        Obligation,
        ResponsibilityLetter,
        LetterSignature,
        Activity,
        Attendance,
        Evidence,
        SchoolCalendar,
    ]
    return {model.__name__: model.objects.count() for model in models}


def test_six_campaigns_on_fitting_units(world):
    rows = list(Campaign.objects.select_related("template", "unit").order_by("pk"))
    # The bank's plan, and its demo branch's own (篇六 asks every branch to file one).
    branch = [c for c in rows if c.unit.kind == UnitKind.BANK_BRANCH]
    assert [(c.template.code, c.unit.code) for c in branch] == [("bank-publicity-month", "ZH01")]
    campaigns = {c.template.code: c for c in rows if c not in branch}
    assert len(campaigns) == len(rows) - 1
    assert set(campaigns) == set(builtin_templates()) == set(ISSUERS)
    for code, campaign in [*campaigns.items(), *((c.template.code, c) for c in branch)]:
        assert campaign.template.source == CampaignTemplate.Source.BUILTIN
        assert campaign.unit.kind == ISSUERS[code] or campaign in branch
        spec = campaign.spec()
        # Placeholders are filled with the demo's leaders and contacts: nothing is left as {name}.
        text = campaign.title + json.dumps(campaign.sections, ensure_ascii=False)
        assert not [p.name for p in spec.placeholders if "{" + p.name + "}" in text], code
        for name in ("leader", "contact_phone", "teacher", "office_director"):
            if name in {p.name for p in spec.placeholders}:
                assert campaign.placeholders.get(name), (code, name)
        # Every obligation sits on a unit of its rule's level, and every level present has its work.
        obligations = Obligation.objects.filter(campaign=campaign)
        assert obligations.exists(), code
        assert not obligations.exclude(unit__kind=F("rule__level")).exists(), code
        kinds = set(obligations.values_list("unit__kind", flat=True))
        present = set(
            Unit.objects.filter(path__startswith=campaign.unit.path, kind__in=spec.levels).values_list(
                "kind", flat=True
            )
        )
        assert kinds == present & {rule.level for rule in spec.obligations}, code
    assert campaigns["kindergarten-lesson"].unit.code == "K01"
    assert campaigns["school-publicity"].unit.code == "M01"
    assert campaigns["university-fraud-free-campus"].placeholders["contact_phone"].startswith("0713-")
    # The school campaigns start with the school year; the bank's month is May–June.
    today = timezone.localdate()
    assert campaigns["university-fraud-free-campus"].starts_on == campaign_demo.school_year_start(today)
    bank = campaigns["bank-publicity-month"]
    assert (bank.starts_on.month, bank.starts_on.day, bank.ends_on.month, bank.ends_on.day) == (5, 1, 6, 30)
    assert bank.starts_on <= today
    assert bank.status == (Campaign.Status.CLOSED if bank.ends_on < today else Campaign.Status.ACTIVE)
    # School calendars: autumn and spring of this school year on the university and the bureau's schools.
    university = campaigns["university-fraud-free-campus"].unit
    assert SchoolCalendar.objects.filter(unit=university).count() == 2
    assert SchoolCalendar.objects.filter(unit=campaigns["school-publicity"].unit).count() == 2


def test_letters_are_signed_in_part_with_drawn_signatures(world):
    letters = ResponsibilityLetter.objects.annotate(n=Count("signatures"))
    by_campaign = Counter(letters.values_list("campaign__template__code", flat=True))
    assert set(by_campaign) == {"university-fraud-free-campus", "district-education-system"}
    states = Counter(letters.values_list("n", flat=True))
    assert states[2] and states[0], states
    # The university's school ↔ college letters are all signed by both sides.
    university = letters.filter(campaign__template__code="university-fraud-free-campus")
    assert all(letter.n == 2 for letter in university.filter(level=0))
    levels = set(university.values_list("level", flat=True))
    assert levels == {0, 1, 2}
    for signature in LetterSignature.objects.all()[:20]:
        assert signature.signer_name
        width, height = files.check_signature_png(signature.image.read())
        assert width > height > 0


def test_activities_over_the_campaign_so_far(world):
    today = timezone.localdate()
    for campaign in Campaign.objects.select_related("template"):
        activities = Activity.objects.filter(campaign=campaign).select_related("obligation__rule")
        assert activities.exists(), campaign.template.code
        for activity in activities[:300]:
            assert campaign.starts_on <= activity.occurred_on <= min(today, campaign.ends_on)
            assert activity.kind in activity.obligation.rule.activity_kinds
            assert activity.recorded_by is not None
    assert Activity.objects.exclude(attendance_count=None).exists()
    assert Attendance.objects.exists() and Evidence.objects.exists()
    assert Activity.objects.values("kind").distinct().count() >= 10
    # Compliance shows work done and work overdue: some units lag on purpose.
    totals = compliance.Tally()
    lagging = 0
    for campaign in Campaign.objects.select_related("unit"):
        snap = compliance.snapshot(campaign, Obligation.objects.all(), today)
        board = compliance.dashboard(snap, campaign.unit)
        totals.merge(board.totals)
        lagging += sum(1 for row in board.rows if row.tally.overdue)
    assert totals.done and totals.overdue, totals
    assert lagging


def test_second_run_adds_nothing_and_reset_rebuilds(world):
    assert "/campaigns/" in world and "/dashboard/" in world
    before = counts()

    def work() -> Counter[tuple[str, str, str, str]]:
        return Counter(Activity.objects.values_list("unit__name", "kind", "occurred_on", "title").order_by())

    activities = work()
    again = build()
    assert "already there, kept" in again
    assert counts() == before
    old = set(Campaign.objects.values_list("pk", flat=True))
    rebuilt = build("--reset")
    assert "removed 7 campaigns" in rebuilt
    assert not old & set(Campaign.objects.values_list("pk", flat=True))
    assert counts() == before
    assert work() == activities  # the same work, recorded again


def test_login_table_points_at_the_campaigns(world):
    built = campaign_demo.demo_campaigns()
    assert [b.plan.seed for b in built] == ["篇二", "篇三", "篇四", "篇一", "篇五", "篇六", "篇六"]
    text = campaign_demo.format_campaigns(built)
    assert text.startswith("专项行动：/campaigns/")
    for item in built:
        assert f"/campaigns/{item.campaign.pk}/dashboard/" in text


def test_demo_roots_are_the_org_demo_roots():
    assert {plan.root for plan in campaign_demo.CAMPAIGNS} <= set(demo.DEMO_ROOTS)


def test_campaign_pages_state_targets_as_the_plan_does(world, client, django_user_model):
    """A count target says what it counts (5类), a case target says the fall it asks for, not "-50%"."""
    client.force_login(django_user_model.objects.create_superuser("goals-reader", password="x" * 16))
    bank = Campaign.objects.filter(template__code="bank-publicity-month").first()
    page = client.get(f"/campaigns/{bank.pk}/").content.decode()
    assert ">5类<" in page
    police = Campaign.objects.filter(template__code="county-police-special-action").first()
    page = client.get(f"/campaigns/{police.pk}/").content.decode()
    assert "下降" in page and "-50" not in page


def test_the_police_demo_tracks_its_departments_duties(world):
    """篇五: every department of the plan is a unit of the demo bureau, and its duties are under way:
    some done this period, some overdue, most with a person in charge who belongs to the department."""
    from fanzha.campaigns.duties import queries as duty_queries

    police = Campaign.objects.get(template__code="county-police-special-action")
    started = CampaignEvent.objects.get(campaign=police, kind="started")
    assert "unmatched_departments" not in started.detail  # all thirteen found (网安大队, 科信大队 by alias)
    duties = Obligation.objects.filter(campaign=police).exclude(rule__department="")
    assert set(duties.values_list("rule__department", flat=True)) == {
        d.name for d in builtin_templates()["county-police-special-action"].departments
    }
    named = duties.exclude(person_in_charge=None)
    assert 0 < named.count() < duties.count()
    assert all(o.person_in_charge.memberships.filter(unit=o.unit).exists() for o in named)
    rows = duty_queries.standing(police, duties)
    assert sum(r.done for r in rows) > 0 and sum(r.overdue for r in rows) > 0
