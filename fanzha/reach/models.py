"""Reach: per-person attestations (pledge, app "three 100 %", parent notice, training, video,
quiz, first lesson) and member self-service sign-in.
Pre-aggregated counts for the dashboards live in ``fanzha.reports``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fanzha.campaigns.models import ActivityKind, Campaign
from fanzha.org.models import Person, Unit


class Item(models.TextChoices):
    PLEDGE_SIGNED = "pledge_signed", _("签署承诺书")
    APP_INSTALLED = "app_installed", _("安装国家反诈中心APP")
    APP_REGISTERED = "app_registered", _("APP实名注册")
    APP_WARNINGS_ON = "app_warnings_on", _("APP开启预警")
    PARENT_NOTICE_SIGNED = "parent_notice_signed", _("家长告知书已签")
    PARENT_APP_INSTALLED = "parent_app_installed", _("家长安装国家反诈中心APP")
    TRAINING_ATTENDED = "training_attended", _("参加培训")
    VIDEO_WATCHED = "video_watched", _("观看警示视频")
    QUIZ_PASSED = "quiz_passed", _("答题合格")
    FIRST_LESSON_ATTENDED = "first_lesson_attended", _("参加开学第一课")


# The item an activity's attendees prove, by the activity's kind: being at a training is "参加培训".
# A campaign must also ask for the item (its template's ``attestations``) for the proof to count.
PROVED_BY_ACTIVITY: dict[str, str] = {
    ActivityKind.TRAINING: Item.TRAINING_ATTENDED,
    ActivityKind.VIDEO: Item.VIDEO_WATCHED,
    ActivityKind.FIRST_LESSON: Item.FIRST_LESSON_ATTENDED,
}


class Attestation(models.Model):
    """One person's state on one item of one campaign: declared by them, verified by staff."""

    class Status(models.TextChoices):
        DECLARED = "declared", _("本人已申报")
        VERIFIED = "verified", _("已核实")
        REJECTED = "rejected", _("未通过核实")
        WITHDRAWN = "withdrawn", _("已撤回")  # the only proof, an activity's attendance, was taken back

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="attestations")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="attestations")
    item = models.CharField(_("事项"), max_length=24, choices=Item.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices)
    at = models.DateTimeField(_("时间"))
    by_guardian = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("签署家长")
    )
    evidence = models.FileField(upload_to="attest/%Y/%m/", blank=True)
    signature = models.FileField(upload_to="pledges/%Y/%m/", blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("覆盖记录")
        verbose_name_plural = _("覆盖记录")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "person", "item"], name="attestation_unique"),
        ]
        indexes = [models.Index(fields=["campaign", "item", "status"])]

    def __str__(self) -> str:
        return f"{self.person_id}:{self.item}:{self.status}"

    @property
    def is_counted(self) -> bool:
        """Whether this attestation counts towards coverage: declared by the member or verified."""
        return self.status in COUNTED


COUNTED = frozenset({Attestation.Status.DECLARED, Attestation.Status.VERIFIED})


class AttestationEvent(models.Model):
    """Append-only history of an attestation: every change, how it came and who made it."""

    class Source(models.TextChoices):
        MEMBER = "member", _("本人申报")
        GUARDIAN = "guardian", _("家长签署")
        STAFF = "staff", _("老师核实")
        SYSTEM = "system", _("系统判定")

    attestation = models.ForeignKey(Attestation, on_delete=models.CASCADE, related_name="events")
    status_before = models.CharField(max_length=10, blank=True)  # "" when the attestation was created
    status_after = models.CharField(max_length=10)
    source = models.CharField(max_length=10, choices=Source.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.attestation_id}:{self.status_before}->{self.status_after}"


class AttestationProof(models.Model):
    """An activity whose attendance proves an attestation: the activity is the evidence.

    ``prior`` is the status the attestation had before its first proof ("" when there was no row), so
    that taking back the last proof restores it (or withdraws the item) when nobody changed it since.
    """

    attestation = models.ForeignKey(Attestation, on_delete=models.CASCADE, related_name="proofs")
    activity = models.ForeignKey("campaigns.Activity", on_delete=models.CASCADE, related_name="+")
    prior = models.CharField(max_length=10, blank=True)
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attestation", "activity"], name="attestation_proof_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.attestation_id}<-{self.activity_id}"


class ClassLink(models.Model):
    """The per-class self-service link (and QR code) that members open on their phones."""

    unit = models.OneToOneField(Unit, on_delete=models.CASCADE, related_name="class_link")
    token = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.unit_id}"


class OneTimeCode(models.Model):
    """A one-time sign-in code for a member; only its hash is stored; used once, expires."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["person", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.created_at}"


class CodeGuard(models.Model):
    """Wrong one-time codes of one person: five within 15 minutes lock the person's codes for 15 minutes.

    Why a row and not the cache: the lock must hold across every worker process and a restart.
    """

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="+")
    failures = models.PositiveSmallIntegerField(default=0)
    window_start = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.person_id}:{self.failures}"
