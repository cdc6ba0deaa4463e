"""Attendance proves participation: an activity's attendees get the items its kind stands for
(``PROVED_BY_ACTIVITY``), with the activity as the evidence; taking an attendee off, or deleting the
activity, withdraws what only it proved."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from fanzha.campaigns.activities import actions as activities
from fanzha.reach import actions
from fanzha.reach.models import Attestation, AttestationEvent, AttestationProof, Item
from tests.codes import give_code

pytestmark = pytest.mark.django_db
S = Attestation.Status


def training(cast, kind: str = "training"):
    return activities.record_activity(
        unit=cast.cs2301, kind=kind, occurred_on=timezone.localdate(), actor=cast.counsellor
    )


def state(campaign, person, item=Item.TRAINING_ATTENDED) -> str:
    row = Attestation.objects.filter(campaign=campaign, person=person, item=item).first()
    return row.status if row else ""


def test_a_qr_check_in_at_a_training_verifies_training_attended_once(cast, campaign):
    activity = training(cast)
    code = give_code(cast.student, cast.counsellor)
    activities.check_in(activity, activity.checkin_token, cast.student.external_number, code)
    activities.check_in(activity, activity.checkin_token, cast.student.external_number, code)
    row = Attestation.objects.get(campaign=campaign, person=cast.student, item=Item.TRAINING_ATTENDED)
    assert row.status == S.VERIFIED
    assert [p.activity_id for p in AttestationProof.objects.filter(attestation=row)] == [activity.pk]
    assert AttestationEvent.objects.filter(attestation=row).count() == 1
    assert state(campaign, cast.monitor) == ""  # not there, nothing proved


def test_an_attendee_list_proves_only_what_the_kind_stands_for(cast, campaign):
    meeting = training(cast, kind="class_meeting")
    activities.add_attendees(meeting, [cast.student, cast.monitor], cast.counsellor)
    assert state(campaign, cast.student) == ""  # a class meeting is no training
    course = training(cast)
    assert activities.add_attendees(course, [cast.student, cast.monitor], cast.counsellor) == 2
    assert state(campaign, cast.student) == S.VERIFIED and state(campaign, cast.monitor) == S.VERIFIED


def test_removing_an_attendee_withdraws_what_only_the_activity_proved(cast, campaign):
    activity = training(cast)
    actions.attest(campaign, cast.monitor, Item.TRAINING_ATTENDED, S.DECLARED)  # declared before
    activities.add_attendees(activity, [cast.student, cast.monitor], cast.counsellor)
    assert state(campaign, cast.monitor) == S.VERIFIED
    assert activities.remove_attendee(activity, cast.student, cast.counsellor)
    assert activities.remove_attendee(activity, cast.monitor, cast.counsellor)
    assert state(campaign, cast.student) == S.WITHDRAWN  # counted no more
    assert state(campaign, cast.monitor) == S.DECLARED  # back to what they declared
    assert not AttestationProof.objects.exists()


def test_deleting_the_activity_keeps_what_another_proof_or_a_teacher_confirmed(cast, campaign):
    first, second = training(cast), training(cast)
    actions.verify_bulk(campaign, [cast.monitor], Item.TRAINING_ATTENDED, cast.counsellor)
    activities.add_attendees(first, [cast.student, cast.monitor], cast.counsellor)
    activities.add_attendees(second, [cast.student], cast.counsellor)
    activities.delete_activity(first, cast.counsellor)
    assert state(campaign, cast.student) == S.VERIFIED  # the second training still proves it
    assert state(campaign, cast.monitor) == S.VERIFIED  # the counsellor confirmed it on their own
    activities.delete_activity(second, cast.counsellor)
    assert state(campaign, cast.student) == S.WITHDRAWN
    assert state(campaign, cast.monitor) == S.VERIFIED


def test_changing_the_kind_moves_the_proof(cast, campaign):
    activity = training(cast, kind="lecture")
    activities.add_attendees(activity, [cast.student], cast.counsellor)
    assert state(campaign, cast.student) == ""
    activities.edit_activity(activity, {"kind": "training"}, cast.counsellor)
    assert state(campaign, cast.student) == S.VERIFIED


def test_the_recorder_takes_an_attendee_off_the_list_on_the_activity_page(cast, campaign, client):
    activity = training(cast)
    activities.add_attendees(activity, [cast.student], cast.counsellor)
    client.force_login(cast.counsellor)
    page = client.get(reverse("activity_detail", args=[activity.pk]))
    url = reverse("activity_remove_attendee", args=[activity.pk, cast.student.pk])
    assert url in page.content.decode()
    assert client.post(url, {"confirm": "1"}).status_code == 302  # the confirmation page's button
    assert state(campaign, cast.student) == S.WITHDRAWN
    other = client.post(reverse("activity_remove_attendee", args=[activity.pk, cast.other_student.pk]))
    assert other.status_code == 404  # outside the counsellor's people


def test_the_export_shows_a_withdrawn_item_as_not_done(cast, campaign, client):
    activity = training(cast)
    activities.add_attendees(activity, [cast.student], cast.counsellor)
    activities.delete_activity(activity, cast.counsellor)
    client.force_login(cast.counsellor)
    response = client.get(reverse("reach_export", args=[cast.cs2301.pk, campaign.pk]))
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    student = next(r for r in rows[1:] if r[1] == cast.student.name)
    assert student[rows[0].index("参加培训")] == "未完成"


def test_the_item_page_names_the_activity_as_evidence(cast, campaign, client):
    activity = training(cast)
    activities.add_attendees(activity, [cast.student, cast.monitor], cast.counsellor)
    client.force_login(cast.counsellor)
    url = reverse("reach_item", args=[cast.cs2301.pk, campaign.pk, Item.TRAINING_ATTENDED])
    page = client.get(url).content.decode()
    assert reverse("activity_detail", args=[activity.pk]) in page and "2 人" in page
