"""Follow-up (心理疏导): opened with the case for a roster victim, texts only for the counselling roles,
reminders once per follow-up, person and day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.followup import actions as fu
from fanzha.cases.followup.views import panel
from fanzha.cases.models import CaseEvent, FollowUp, FollowUpSession
from fanzha.notify.models import Outbox
from fanzha.org import actions as org
from fanzha.org.models import MembershipRole, Role
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db

SECRET = "失眠三晚，自责，情绪低落"
PLAN_TEXT = "每周面谈一次，联系家长共同关注"


@pytest.fixture
def psychologist(cast):
    return make_staff(cast.uni, "X0001", "心理老师", Role.PSYCHOLOGIST, cast.uni, kind="teacher")


@pytest.fixture
def case(cast, make_intake):
    return actions.report_case(make_intake(cast.cs2301, cast.student), cast.counsellor)


def with_session(case, user) -> FollowUp:
    followup = case.followup
    fu.update_plan(followup, user, plan=PLAN_TEXT)
    fu.add_session(followup, user, timezone.localdate(), SECRET, timezone.localdate() + timedelta(days=7))
    return FollowUp.objects.get(pk=followup.pk)


def test_report_opens_followup_with_the_class_counsellor(cast, case):
    followup = FollowUp.objects.get(case=case)
    assert followup.status == FollowUp.Status.OPEN
    assert followup.counsellor == cast.counsellor  # granted the counsellor role at the class
    assert followup.next_date == timezone.localdate() + timedelta(days=1)
    assert followup.planned_sessions == 3


def test_counsellor_membership_of_the_class_comes_first(cast, make_intake):
    other = make_staff(cast.uni, "T0009", "辅导员乙", Role.COUNSELLOR, cast.cs2301, kind="teacher")
    org.add_membership(other.person, cast.cs2301, MembershipRole.COUNSELLOR)
    case = actions.report_case(make_intake(cast.cs2301, cast.student), cast.counsellor)
    assert case.followup.counsellor == other


def test_resident_victim_gets_no_followup_until_opened_by_hand(cast, make_intake):
    case = actions.report_case(make_intake(cast.cs2301), cast.counsellor)
    assert not FollowUp.objects.filter(case=case).exists()
    with pytest.raises(PermissionDenied):
        fu.open_followup(case, cast.college_admin)
    followup = fu.open_followup(case, cast.counsellor, counsellor=cast.counsellor)
    assert followup.counsellor == cast.counsellor
    assert case.events.filter(kind=CaseEvent.Kind.FOLLOWUP, detail__step="opened").count() == 1


def test_texts_are_encrypted_and_never_in_events(cast, case):
    followup = with_session(case, cast.counsellor)
    session = FollowUpSession.objects.get(followup=followup)
    assert SECRET not in session.notes_enc and PLAN_TEXT not in followup.plan_enc
    for event in case.events.filter(kind=CaseEvent.Kind.FOLLOWUP):
        assert SECRET not in str(event.detail) and PLAN_TEXT not in str(event.detail)
    steps = list(case.events.filter(kind=CaseEvent.Kind.FOLLOWUP).values_list("detail__step", flat=True))
    assert steps == ["plan", "session"]
    texts = fu.read_texts(followup, cast.counsellor)
    assert texts.plan == PLAN_TEXT and [s.notes for s in texts.sessions] == [SECRET]


@pytest.mark.parametrize("who", ["college_admin", "auditor", "police_liaison", "school_admin"])
def test_other_roles_cannot_read_or_write_the_texts(cast, case, who):
    user = getattr(cast, who)
    followup = with_session(case, cast.counsellor)
    with pytest.raises(PermissionDenied):
        fu.read_texts(followup, user)
    with pytest.raises(PermissionDenied):
        fu.add_session(followup, user, timezone.localdate(), "x")
    with pytest.raises(PermissionDenied):
        fu.update_plan(followup, user, plan="changed")
    with pytest.raises(PermissionDenied):
        fu.close_followup(followup, user, "done")
    followup.refresh_from_db()
    assert followup.status == FollowUp.Status.OPEN and followup.sessions.count() == 1
    assert fu.read_texts(followup, cast.counsellor).plan == PLAN_TEXT


@pytest.mark.parametrize("who", ["college_admin", "auditor", "police_liaison"])
def test_page_shows_status_but_no_text_to_other_roles(client, cast, case, who):
    with_session(case, cast.counsellor)
    client.force_login(getattr(cast, who))
    response = client.get(reverse("followup_detail", args=[case.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert SECRET not in html and PLAN_TEXT not in html
    assert "1 / 3" in html  # sessions held / planned
    response = client.post(
        reverse("followup_session", args=[case.pk]),
        {"held_on": timezone.localdate().isoformat(), "notes": "篡改"},
    )
    assert response.status_code == 403
    assert FollowUpSession.objects.filter(followup__case=case).count() == 1


def test_page_shows_texts_to_counsellor_and_psychologist(client, cast, case, psychologist):
    with_session(case, cast.counsellor)
    for user in (cast.counsellor, psychologist):
        client.force_login(user)
        html = client.get(reverse("followup_detail", args=[case.pk])).content.decode()
        assert SECRET in html and PLAN_TEXT in html
        next_date = FollowUp.objects.get(case=case).next_date
        assert f'name="next_date" value="{next_date.isoformat()}"' in html  # ISO for the date picker


def test_outsider_gets_404(client, cast, case):
    client.force_login(cast.outsider)
    assert client.get(reverse("followup_detail", args=[case.pk])).status_code == 404
    response = client.post(reverse("followup_close", args=[case.pk]), {"closing_note": "x"})
    assert response.status_code == 404
    assert FollowUp.objects.get(case=case).status == FollowUp.Status.OPEN


def test_psychologist_adds_session_and_closes_through_the_pages(client, cast, case, psychologist):
    client.force_login(psychologist)
    today = timezone.localdate()
    response = client.post(
        reverse("followup_session", args=[case.pk]),
        {"held_on": today.isoformat(), "notes": SECRET, "next_date": (today + timedelta(days=3)).isoformat()},
    )
    assert response.status_code == 302
    followup = FollowUp.objects.get(case=case)
    assert followup.sessions.get().by == psychologist
    assert followup.next_date == today + timedelta(days=3)
    response = client.post(reverse("followup_close", args=[case.pk]), {"closing_note": "情绪稳定，结束疏导"})
    assert response.status_code == 302
    followup.refresh_from_db()
    assert followup.status == FollowUp.Status.CLOSED and followup.next_date is None
    assert fu.read_texts(followup, cast.counsellor).closing_note == "情绪稳定，结束疏导"
    with pytest.raises(ValidationError):
        fu.add_session(followup, cast.counsellor, today, "again")


def test_session_checks_dates_and_notes(cast, case):
    followup = case.followup
    today = timezone.localdate()
    with pytest.raises(ValidationError) as info:
        fu.add_session(followup, cast.counsellor, today + timedelta(days=1), "", today)
    assert set(info.value.error_dict) == {"held_on", "notes", "next_date"}
    assert followup.sessions.count() == 0


def test_plan_assigns_only_counselling_roles(cast, case, psychologist):
    followup = case.followup
    with pytest.raises(ValidationError):
        fu.update_plan(followup, cast.counsellor, psychologist=cast.college_admin)
    fu.update_plan(followup, cast.counsellor, psychologist=psychologist, planned_sessions=5)
    followup.refresh_from_db()
    assert followup.psychologist == psychologist and followup.planned_sessions == 5
    assert set(fu.counsel_users(case)) == {cast.counsellor, psychologist}


def test_reminders_once_per_day(cast, case, psychologist):
    cast.counsellor.email = "fdy@example.edu.cn"
    cast.counsellor.save()
    followup = case.followup
    fu.update_plan(followup, cast.counsellor, psychologist=psychologist)
    due = followup.next_date
    assert due is not None
    assert fu.queue_followup_reminders(due - timedelta(days=1)) == 0  # not yet due
    assert fu.queue_followup_reminders(due) == 3  # counsellor in-app + e-mail, psychologist in-app
    assert fu.queue_followup_reminders(due) == 0  # same day: nothing new
    rows = Outbox.objects.filter(idempotency_key__startswith=f"followup:{followup.pk}:")
    assert {(r.user_id, r.channel_kind) for r in rows} == {
        (cast.counsellor.pk, "in_app"),
        (cast.counsellor.pk, "email"),
        (psychologist.pk, "in_app"),
    }
    assert all(case.number in r.subject and "张三" not in r.body for r in rows)
    assert fu.queue_followup_reminders(due + timedelta(days=1)) == 3  # still overdue the next day
    fu.close_followup(followup, cast.counsellor, "结束")
    assert fu.queue_followup_reminders(due + timedelta(days=2)) == 0


def test_reminder_command(cast, case, capsys):
    day: date = case.followup.next_date
    call_command("followup-reminders", "--today", day.isoformat())
    assert "1 follow-up reminder" in capsys.readouterr().out
    call_command("followup-reminders", "--today", day.isoformat())
    assert "0 follow-up reminder" in capsys.readouterr().out


def test_list_for_counselling_roles_due_first(client, cast, make_intake, django_assert_max_num_queries):
    first = actions.report_case(make_intake(cast.cs2301, cast.student), cast.counsellor)
    second = actions.report_case(make_intake(cast.cs2301, cast.student), cast.counsellor)
    fu.update_plan(second.followup, cast.counsellor, next_date=timezone.localdate() - timedelta(days=2))
    client.force_login(cast.counsellor)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("followup_list"))
    html = response.content.decode()
    assert html.index(second.number) < html.index(first.number)
    client.force_login(cast.college_admin)
    assert client.get(reverse("followup_list")).status_code == 403


def test_panel_shows_no_text(cast, case):
    with_session(case, cast.counsellor)
    context = panel(case, cast.auditor)
    assert context["sessions"] == 1 and not context["can_counsel"]
    assert SECRET not in str(context) and PLAN_TEXT not in str(context)
    assert panel(case, cast.counsellor)["can_counsel"]


def test_case_page_panel_hides_text(client, cast, case):
    with_session(case, cast.counsellor)
    client.force_login(cast.auditor)
    html = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert reverse("followup_detail", args=[case.pk]) in html and "1 / 3" in html
    assert SECRET not in html and PLAN_TEXT not in html


def test_report_assigns_the_psychologist_granted_above_the_unit(cast, psychologist, make_intake):
    case = actions.report_case(make_intake(cast.cs2301, cast.student), cast.counsellor)
    assert FollowUp.objects.get(case=case).psychologist == psychologist


def test_no_psychologist_granted_leaves_it_empty(cast, case):
    assert FollowUp.objects.get(case=case).psychologist is None
