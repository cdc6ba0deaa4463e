"""The attestation verbs: upsert once, never double-counted, files checked before anything is stored,
and every change told to ``core.hooks.attestations_changed`` after commit."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from fanzha.campaigns.models import CampaignEvent
from fanzha.core import hooks
from fanzha.notify import delivery
from fanzha.notify.actions import queue
from fanzha.notify.models import ChannelKind, Outbox
from fanzha.org import actions as org_actions
from fanzha.reach import actions
from fanzha.reach.models import Attestation, AttestationEvent, ClassLink, Item
from tests.campaigns.files import jpeg, png
from tests.reach.conftest import CaptureBackend, make_campaign, stored

S = Attestation.Status


@pytest.fixture
def changes():
    """Every payload the hook receives during the test."""
    seen: list = []

    def handler(payload):
        seen.extend(payload)

    hooks.on_attestations_changed(handler)
    yield seen
    hooks._attestations_changed.remove(handler)


def test_attest_creates_once_and_tells_reports_after_commit(
    cast, campaign, changes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = actions.attest(campaign, cast.student, Item.APP_INSTALLED, S.DECLARED)
        again = actions.attest(campaign, cast.student, Item.APP_INSTALLED, S.DECLARED)
    assert first.pk == again.pk
    assert Attestation.objects.filter(campaign=campaign, person=cast.student).count() == 1
    assert AttestationEvent.objects.filter(attestation=first).count() == 1
    assert len(callbacks) == 1  # the repeat changed nothing, so it told nobody
    assert changes == [(first.pk, campaign.pk, cast.student.pk, Item.APP_INSTALLED, False, True)]


def test_hook_runs_only_on_commit(cast, campaign, changes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        actions.attest(campaign, cast.student, Item.APP_INSTALLED, S.DECLARED)
    assert changes == []


def test_registering_a_handler_twice_is_a_noop():
    def handler(payload):
        return None

    hooks.on_attestations_changed(handler)
    hooks.on_attestations_changed(handler)
    try:
        assert hooks._attestations_changed.count(handler) == 1
    finally:
        hooks._attestations_changed.remove(handler)
    hooks.attestations_changed([])  # nothing to tell: no call


def test_declaring_never_downgrades_a_verified_row(
    cast, campaign, changes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row = actions.attest(campaign, cast.student, Item.PLEDGE_SIGNED, S.VERIFIED, actor=cast.counsellor)
        again = actions.attest(campaign, cast.student, Item.PLEDGE_SIGNED, S.DECLARED)
    assert again.status == S.VERIFIED and again.verified_by == cast.counsellor
    assert len(changes) == 1
    row.refresh_from_db()
    assert row.verified_at is not None


@pytest.mark.parametrize("item", ["nonsense", Item.VIDEO_WATCHED])  # unknown; not listed by the template
def test_items_must_be_tracked(cast, campaign, item):
    with pytest.raises(ValidationError):
        actions.attest(campaign, cast.student, item, S.DECLARED)
    assert not Attestation.objects.exists()


def test_closed_campaign_refuses(cast, campaign):
    campaign.status = "closed"
    campaign.save()
    with pytest.raises(ValidationError) as info:
        actions.attest(campaign, cast.student, Item.APP_INSTALLED, S.DECLARED)
    assert info.value.code == "closed"


def test_people_outside_the_campaign_or_not_concerned_are_refused(cast, campaign):
    with pytest.raises(ValidationError) as info:
        actions.attest(campaign, cast.other_student, Item.APP_INSTALLED, S.DECLARED)
    assert info.value.code == "outside"
    teacher = org_actions.save_person(root=cast.uni, name="钱老师", kind="teacher", external_number="T0100")
    org_actions.add_membership(teacher, cast.cs2301)
    with pytest.raises(ValidationError) as info:
        actions.attest(campaign, teacher, Item.PARENT_NOTICE_SIGNED, S.DECLARED)
    assert info.value.code == "na"
    assert not Attestation.objects.exists()


def test_verify_bulk_counts_each_person_once(cast, campaign, changes, django_capture_on_commit_callbacks):
    declared = actions.attest(campaign, cast.student, Item.TRAINING_ATTENDED, S.DECLARED)
    actions.attest(campaign, cast.math_student, Item.TRAINING_ATTENDED, S.VERIFIED, actor=cast.school_admin)
    with django_capture_on_commit_callbacks(execute=True):
        before = stored("attest")
        upload = SimpleUploadedFile("签到表.jpg", jpeg(), content_type="image/jpeg")
        n = actions.verify_bulk(
            campaign, [cast.student, cast.monitor, cast.math_student, cast.student], Item.TRAINING_ATTENDED,
            cast.counsellor, evidence=upload,
        )  # fmt: skip
    assert n == 2  # 张三 declared → verified, 李四 new; 王五 was verified already
    assert stored("attest") == before + 1  # one file for everyone confirmed
    rows = {a.person_id: a for a in Attestation.objects.filter(item=Item.TRAINING_ATTENDED)}
    assert rows[cast.student.pk].pk == declared.pk and rows[cast.student.pk].status == S.VERIFIED
    assert rows[cast.monitor.pk].verified_by == cast.counsellor
    assert rows[cast.student.pk].evidence.name == rows[cast.monitor.pk].evidence.name
    assert rows[cast.math_student.pk].verified_by == cast.school_admin
    assert sorted(c[2:] for c in changes) == sorted(
        [
            (cast.student.pk, Item.TRAINING_ATTENDED, True, True),
            (cast.monitor.pk, Item.TRAINING_ATTENDED, False, True),
        ]
    )
    assert (
        actions.verify_bulk(campaign, [cast.student, cast.monitor], Item.TRAINING_ATTENDED, cast.counsellor)
        == 0
    )


def test_verify_bulk_writes_nothing_when_anyone_is_outside(cast, campaign):
    before = stored("attest")
    with pytest.raises(ValidationError):
        actions.verify_bulk(
            campaign, [cast.student, cast.other_student], Item.TRAINING_ATTENDED, cast.counsellor,
            evidence=SimpleUploadedFile("a.jpg", jpeg()),
        )  # fmt: skip
    assert not Attestation.objects.exists()
    assert stored("attest") == before


def test_verify_bulk_refuses_bad_evidence(cast, campaign):
    before = stored("attest")
    with pytest.raises(ValidationError) as info:
        actions.verify_bulk(
            campaign, [cast.student], Item.TRAINING_ATTENDED, cast.counsellor,
            evidence=SimpleUploadedFile("签到表.jpg", b"MZ\x90\x00 not a photo at all"),
        )  # fmt: skip
    assert info.value.code == "type"
    assert not Attestation.objects.exists() and stored("attest") == before


def test_reject_uncounts(cast, campaign, changes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        row = actions.attest(campaign, cast.student, Item.APP_INSTALLED, S.DECLARED)
        actions.reject(row, cast.counsellor, note="截图不清楚")
        actions.reject(row, cast.counsellor)  # twice: no second change
    row.refresh_from_db()
    assert row.status == S.REJECTED and row.verified_by == cast.counsellor
    assert changes[-1] == (row.pk, campaign.pk, cast.student.pk, Item.APP_INSTALLED, True, False)
    assert len(changes) == 2
    assert list(row.events.values_list("status_after", "source")) == [
        ("declared", "member"),
        ("rejected", "staff"),
    ]
    actions.attest(campaign, cast.student, Item.APP_INSTALLED, S.DECLARED)  # declared again: counts again
    row.refresh_from_db()
    assert row.status == S.DECLARED and row.verified_by is None


def test_sign_pledge_once(cast, campaign):
    before = stored("pledges")
    row = actions.sign_pledge(campaign, cast.student, png())
    again = actions.sign_pledge(campaign, cast.student, png(60, 30))
    assert row.pk == again.pk and again.signature.name == row.signature.name
    assert stored("pledges") == before + 1
    assert row.status == S.DECLARED


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"GIF89a not a png", "invalid"),
        (b"", "required"),
        (png(drawn=False), "blank"),
        (png(3000, 20), "dimensions"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (600 * 1024), "size"),
    ],
)
def test_bad_signatures_store_nothing(cast, campaign, content, code):
    before = stored("pledges")
    with pytest.raises(ValidationError) as info:
        actions.sign_pledge(campaign, cast.student, content)
    assert info.value.code == code
    assert not Attestation.objects.exists() and stored("pledges") == before


def test_declare_app_three_at_once_with_one_screenshot(cast, campaign):
    before = stored("attest")
    shot = SimpleUploadedFile("Screenshot.png", png(), content_type="image/png")
    rows = actions.declare_app(
        campaign,
        cast.student,
        [Item.APP_INSTALLED, Item.APP_REGISTERED, Item.APP_WARNINGS_ON],
        screenshot=shot,
    )
    assert {r.item for r in rows} == {Item.APP_INSTALLED, Item.APP_REGISTERED, Item.APP_WARNINGS_ON}
    assert len({r.evidence.name for r in rows}) == 1 and stored("attest") == before + 1
    assert actions.declare_app(campaign, cast.student, [Item.APP_INSTALLED]) == []  # already declared


def test_declare_app_refuses_non_images_and_huge_files(cast, campaign):
    before = stored("attest")
    text = SimpleUploadedFile("shot.png", b"just some text pretending to be a picture")
    with pytest.raises(ValidationError):
        actions.declare_app(campaign, cast.student, [Item.APP_INSTALLED], screenshot=text)
    pdf = SimpleUploadedFile("shot.pdf", b"%PDF-1.4 a document, not a screenshot")
    with pytest.raises(ValidationError) as info:
        actions.declare_app(campaign, cast.student, [Item.APP_INSTALLED], screenshot=pdf)
    assert info.value.code == "type"
    huge = SimpleUploadedFile("big.jpg", jpeg() + b"\0" * (10 * 1024 * 1024))
    with pytest.raises(ValidationError) as info:
        actions.declare_app(campaign, cast.student, [Item.APP_INSTALLED], screenshot=huge)
    assert info.value.code == "size"
    with pytest.raises(ValidationError):
        actions.declare_app(campaign, cast.student, [])
    assert not Attestation.objects.exists() and stored("attest") == before


def test_parent_notice_needs_a_linked_guardian(cast, campaign):
    row = actions.sign_parent_notice(cast.parent, cast.student, campaign, png())
    assert row.person == cast.student and row.by_guardian == cast.parent
    assert row.events.get().source == "guardian"
    with pytest.raises(ValidationError) as info:
        actions.sign_parent_notice(cast.parent, cast.monitor, campaign, png())
    assert info.value.code == "guardian"
    assert actions.sign_parent_notice(cast.parent, cast.student, campaign, png()).pk == row.pk


def test_class_links(cast):
    link = actions.ensure_class_link(cast.cs2301)
    assert actions.ensure_class_link(cast.cs2301).token == link.token
    assert len(link.token) >= 20
    rotated = actions.rotate_class_link(cast.cs2301)
    assert rotated.token != link.token and ClassLink.objects.count() == 1


def test_campaign_without_items(cast):
    text = 'code = "none"\ntitle = "x"\nissuer_kinds = ["school"]\nlevels = ["school"]\n'
    text += '\n[[sections]]\nheading = "h"\n'
    other = make_campaign(cast, text, code="none")
    with pytest.raises(ValidationError):
        actions.attest(other, cast.student, Item.PLEDGE_SIGNED, S.DECLARED)


# SMS through the notify outbox -------------------------------------------------------------------


def test_sms_is_stored_encrypted_and_masked_once_sent(db, caplog):
    row = queue(ChannelKind.SMS, "138 0013 8000", subject="【反诈】", body="你的验证码是 123456", key="otp:1")
    assert "13800138000" not in row.address and row.address  # encrypted until sent
    assert delivery.deliver_now(row).status == Outbox.Status.SENT
    row.refresh_from_db()
    assert row.address == "138****8000" and "123456" not in row.body
    assert CaptureBackend.sent == [("13800138000", "【反诈】\n你的验证码是 123456")]
    reminder = queue(ChannelKind.SMS, "13800138000", subject="提醒", body="请完成答题", key="remind:1")
    delivery.deliver_now(reminder)
    reminder.refresh_from_db()
    assert reminder.body == "请完成答题" and reminder.address == "138****8000"


def test_log_backend_never_logs_the_number_or_the_text(db, settings, caplog):
    settings.FANZHA_SMS_BACKEND = "fanzha.notify.sms.LogBackend"  # no gateway: nothing is sent
    row = queue(ChannelKind.SMS, "13800138000", subject="s", body="你的验证码是 654321", key="otp:2")
    with caplog.at_level("DEBUG"):
        assert delivery.deliver_now(row).status == Outbox.Status.UNSENT
    text = caplog.text
    assert "13800138000" not in text and "654321" not in text and "138****8000" in text


def test_sms_without_a_number_fails_for_good(db):
    row = Outbox.objects.create(idempotency_key="x", channel_kind=ChannelKind.SMS, subject="s", body="b")
    assert delivery.deliver_now(row).status == Outbox.Status.FAILED
    assert CampaignEvent.objects.count() == 0
