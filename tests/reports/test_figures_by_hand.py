"""The demo's figures can be checked by hand (issue 13, "Measure"): for every demo campaign, one unit
(a class where the campaign has classes, otherwise a police station or a bank branch) is counted here
from the raw rows alone — memberships, people, attestations, obligations, activities — with plain ORM
filters, and the unit's dashboard page must show the same numbers.

What a reader counts for a unit (the rules are in ``reports.kpis``' docstring, "Home unit"):

- **people covered**: the unit's members (and those of the units below it) who are on the roll
  (``Person.is_active``), are of a kind the campaign addresses (its template's audiences; parents are
  reached through their children and not counted), and belong there rather than serve there (a
  counsellor or volunteer of a class belongs to their own unit, not the class);
- **each item, done / total**: the total is those people, students only for the two parent items
  (a parent notice concerns a child); done is how many of them have that item's attestation for the
  campaign, declared or verified;
- **obligations**: the campaign's active obligations on the unit and below it; and, where all of
  them are "once" (one period: the whole campaign) or "monthly" (each calendar month from the
  campaign's first day to today), their periods done, due and overdue. A period is done when the
  obligation's non-deleted activities dated inside it, each carrying every kind of evidence the rule
  asks for, reach the rule's count (for a rule with a measure — the parent notices — the measured
  item must also reach the rule's target); otherwise it is overdue once it has ended, due while it
  runs. The page counts periods recorded after they closed apart ("late"): here they are done.

Daily, weekly and term periods need the school calendar and the clipping of short periods, which is
``campaigns.compliance``'s work and its own tests'; for campaigns with such rules (the university,
the middle school, the banks) only the number of obligations is counted.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns.models import Activity, Campaign, Evidence, Obligation, PeriodException
from fanzha.org.models import Membership, Person, Unit, User
from fanzha.reach.models import Attestation, Item

pytestmark = pytest.mark.django_db

DUTY_ROLES = ("counsellor", "volunteer")  # serving in a unit, not belonging to it
PARENT_ITEMS = ("parent_notice_signed", "parent_app_installed")  # concern students only
COUNTED = ("declared", "verified")  # a refused or revoked attestation does not count
UNIT_KINDS = ("class", "police_station", "bank_branch")  # the unit checked, in order of preference
EVIDENCE_KINDS = {
    "photos": Evidence.Kind.PHOTO,
    "video": Evidence.Kind.VIDEO,
    "document": Evidence.Kind.DOCUMENT,
}


def people_by_hand(campaign: Campaign, unit: Unit) -> list[Person]:
    """The people covered: on the roll, of an addressed kind, belonging to the unit or below it."""
    kinds = [k for k in campaign.spec().audiences if k != "parent"]
    belonging = Membership.objects.filter(unit__path__startswith=unit.path, unit__is_active=True).exclude(
        role__in=DUTY_ROLES
    )
    return list(
        Person.objects.filter(is_active=True, kind__in=kinds, pk__in=belonging.values("person_id")).order_by(
            "pk"
        )
    )


def item_by_hand(campaign: Campaign, item: str, people: list[Person]) -> tuple[int, int]:
    """(done, total) of one item over the covered people."""
    concerned = [p.pk for p in people if item not in PARENT_ITEMS or p.kind == "student"]
    done = Attestation.objects.filter(
        campaign=campaign, item=item, status__in=COUNTED, person_id__in=concerned
    ).count()
    return done, len(concerned)


def has_evidence(activity: Activity, kind: str) -> bool:
    """Whether an activity carries one kind of evidence a rule may ask for."""
    if kind == "link":
        return bool(activity.link)
    if kind == "attendees":
        return activity.attendance_count > 0 or activity.attendances.exists()
    return activity.evidence.filter(kind=EVIDENCE_KINDS[kind]).exists()


def months(campaign: Campaign, today: date) -> list[tuple[date, date]]:
    """The calendar months from the campaign's first day to today (or to its last day), each clipped
    to the campaign (the demo's campaigns start on the 1st, so nothing is clipped)."""
    result = []
    first = campaign.starts_on
    while first <= min(today, campaign.ends_on):
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        result.append((first, min(last, campaign.ends_on)))
        first = last + timedelta(days=1)
    return result


def periods_by_hand(
    campaign: Campaign, obligation_rows: list[Obligation], items: dict[str, tuple[int, int]], today: date
) -> tuple[int, int, int]:
    """(done, due, overdue) periods of "once" and "monthly" obligations (see the module docstring)."""
    done = due = overdue = 0
    for obligation in obligation_rows:
        rule = obligation.rule
        met = True
        if rule.measure:
            signed, total = items[rule.measure]
            met = total > 0 and 100 * signed >= rule.target * total
        if rule.frequency == "once":
            spans = [(campaign.starts_on, campaign.ends_on)]
        else:
            spans = months(campaign, today)
        for first, last in spans:
            activities = Activity.objects.filter(
                obligation=obligation, is_deleted=False, occurred_on__range=(first, last)
            )
            qualifying = [a for a in activities if all(has_evidence(a, kind) for kind in rule.evidence)]
            if met and len(qualifying) >= rule.min_count:
                done += 1
            elif last < today:
                overdue += 1
            else:
                due += 1
    return done, due, overdue


def unit_to_check(campaign: Campaign) -> Unit:
    """The first unit (by place in the tree) of the preferred kind, inside the campaign, with people
    and, where one has, with an activity recorded for the campaign (so that something is done)."""
    for kind in UNIT_KINDS:
        units = [
            unit
            for unit in Unit.objects.filter(
                path__startswith=campaign.unit.path, kind=kind, is_active=True
            ).order_by("path")
            if people_by_hand(campaign, unit)
        ]
        busy = Activity.objects.filter(obligation__campaign=campaign, is_deleted=False)
        for unit in units:
            if busy.filter(obligation__unit__path__startswith=unit.path).exists():
                return unit
        if units:
            return units[0]
    raise AssertionError(f"{campaign.title}: no unit with people")


def test_every_demo_campaign_shows_the_figures_counted_by_hand(
    db, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", "--no-serve", "--scale", "0.02", stdout=StringIO())
    client.force_login(User.objects.create_superuser("by-hand", "", "x"))
    campaigns = list(Campaign.objects.select_related("unit").order_by("pk"))
    assert len(campaigns) >= 6
    mismatches: list[str] = []
    checked = []
    periods_checked = []

    def compare(campaign: Campaign, unit: Unit, figure: str, by_hand: object, shown: object) -> None:
        if by_hand != shown:
            mismatches.append(f"{campaign.title} / {unit.name}: {figure} counted {by_hand}, shown {shown}")

    for campaign in campaigns:
        unit = unit_to_check(campaign)
        people = people_by_hand(campaign, unit)
        items = {
            item: item_by_hand(campaign, item, people)
            for item in campaign.spec().attestations
            if item in Item.values
        }
        obligation_rows = list(
            Obligation.objects.filter(
                campaign=campaign, is_active=True, unit__path__startswith=unit.path
            ).select_related("rule")
        )

        page = client.get(reverse("dashboard_unit", args=[campaign.pk, unit.pk]))
        assert page.status_code == 200, campaign.title
        figures = page.context["board"].figures
        shown_obligations = page.context["obligations"]

        compare(campaign, unit, "people", len(people), figures.people)
        compare(campaign, unit, "items", list(items), list(figures.items))
        for item, (done, total) in items.items():
            ratio = figures.items.get(item)
            compare(campaign, unit, f"{item} done/total", (done, total), ratio and (ratio.done, ratio.due))
        compare(campaign, unit, "obligations", len(obligation_rows), shown_obligations.obligations)
        simple = all(ob.rule.frequency in ("once", "monthly") for ob in obligation_rows)
        if simple and not PeriodException.objects.filter(obligation__in=obligation_rows).exists():
            compare(
                campaign,
                unit,
                "obligation periods done/due/overdue",
                periods_by_hand(campaign, obligation_rows, items, timezone.localdate()),
                (
                    shown_obligations.done + shown_obligations.late,
                    shown_obligations.due,
                    shown_obligations.overdue,
                ),
            )
            periods_checked.append(campaign.pk)
        checked.append((campaign.pk, unit.kind, len(people), len(items), len(obligation_rows)))

    assert not mismatches, "\n".join(mismatches)
    # every campaign was checked on a unit with people, and the checks saw something to count
    assert len(checked) == len(campaigns)
    assert any(n_items for _, _, _, n_items, _ in checked)
    assert all(n_obligations for *_, n_obligations in checked), checked
    assert len(periods_checked) >= 3, periods_checked  # the bureau's, the kindergarten's, the police's
