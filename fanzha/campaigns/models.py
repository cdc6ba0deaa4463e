"""Campaigns: templates, running campaigns, their goals and obligations, activity records with
evidence, school calendars, responsibility letters and the append-only campaign history.

A campaign copies its template's text when it starts, so editing a template later never
changes a campaign under way. Every write goes through ``actions.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fanzha.org.models import Person, Unit

from .spec import PLACEHOLDER, TemplateSpec, parse_cached, parse_template


class Frequency(models.TextChoices):
    DAILY = "daily", _("每天")
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")
    SEMESTER = "semester", _("每学期")
    YEARLY = "yearly", _("每年")
    ONCE = "once", _("一次（限期）")


class ActivityKind(models.TextChoices):
    CLASS_MEETING = "class_meeting", _("主题班会")
    LECTURE = "lecture", _("讲座")
    TRAINING = "training", _("培训")
    FIRST_LESSON = "first_lesson", _("开学第一课")
    POSTER = "poster", _("海报/展板")
    BLACKBOARD = "blackboard", _("黑板报")
    RADIO = "radio", _("校园广播")
    ARTICLE = "article", _("文章推送")
    VIDEO = "video", _("视频")
    TIP = "tip", _("群内防诈提示")
    CONTEST = "contest", _("竞赛/作品征集")
    OUTREACH = "outreach", _("宣传进社区等外展活动")
    PLEDGE = "pledge", _("签名倡议")
    PARENT_LETTER = "parent_letter", _("致家长信")
    PARENT_MEETING = "parent_meeting", _("家长会/家访")
    STAFF_BRIEFING = "staff_briefing", _("教职工会议传达")
    DORM_VISIT = "dorm_visit", _("走访宿舍")
    LAW_EDUCATION = "law_education", _("“两卡”法治教育")
    NOTICE = "notice", _("通知/通报")
    MEETING = "meeting", _("工作会议")
    INSPECTION = "inspection", _("督导检查")
    SCENARIO = "scenario", _("情景表演")
    OTHER = "other", _("其他")


class CampaignTemplate(models.Model):
    """A campaign template: a built-in one (synced from ``templates_builtin/``) or a user's own."""

    class Source(models.TextChoices):
        BUILTIN = "builtin", _("内置")
        CUSTOM = "custom", _("自定义")

    code = models.SlugField(_("代码"), max_length=64, unique=True)
    title = models.CharField(_("标题"), max_length=200)
    source = models.CharField(_("来源"), max_length=8, choices=Source.choices, default=Source.CUSTOM)
    text = models.TextField(_("模板内容（TOML）"))
    owner_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("所属单位")
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(auto_now=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("专项行动模板")
        verbose_name_plural = _("专项行动模板")
        ordering = ["source", "code"]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        """The title as a list shows it: a placeholder ("{organisation}…") is the campaign's to fill,
        so a template's page leaves it out rather than showing the code to a reader."""
        return PLACEHOLDER.sub("", self.title).strip() or self.title

    def spec(self) -> TemplateSpec:
        return parse_template(self.text, source=self.code)


class Campaign(models.Model):
    """A campaign started from a template on a unit, for a period."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("进行中")
        CLOSED = "closed", _("已结束")

    template = models.ForeignKey(CampaignTemplate, on_delete=models.PROTECT, related_name="campaigns")
    template_text = models.TextField(editable=False)  # the template as it was when the campaign started
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("发起单位")
    )
    title = models.CharField(_("标题"), max_length=200)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    placeholders = models.JSONField(_("占位内容"), default=dict, blank=True)
    sections = models.JSONField(_("方案章节"), default=list, blank=True)  # [{heading, body, children: [...]}]
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    # Raised in the same transaction as every write to the campaign's activities, their evidence or
    # attendance, so a page may reuse the records it grouped while this number stays the same
    # (``compliance.campaign_records``).
    records_version = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("专项行动")
        verbose_name_plural = _("专项行动")
        ordering = ["-starts_on", "-id"]
        indexes = [models.Index(fields=["unit", "status"])]

    def __str__(self) -> str:
        return self.title

    def spec(self) -> TemplateSpec:
        return parse_cached(self.template_text, lambda: self.template.code)

    @property
    def counts_reach(self) -> bool:
        """Whether its template counts outreach by group and channel (the campaign's reach page)."""
        return self.spec().reach is not None

    @property
    def has_duties(self) -> bool:
        """Whether its plan tracks department duties (the campaign's duties page)."""
        return bool(self.spec().duty_rules)


class Goal(models.Model):
    """A measurable goal of a campaign: metric, target, deadline."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="goals")
    code = models.CharField(max_length=64)
    metric = models.CharField(_("指标"), max_length=32)
    target = models.DecimalField(_("目标值"), max_digits=14, decimal_places=2)
    unit = models.CharField(_("单位"), max_length=8, default="percent")
    deadline = models.DateField(_("期限"))
    description = models.CharField(_("说明"), max_length=300)

    class Meta:
        verbose_name = _("目标")
        verbose_name_plural = _("目标")
        constraints = [models.UniqueConstraint(fields=["campaign", "code"], name="goal_code_unique")]

    def __str__(self) -> str:
        return self.description


class GoalRecord(models.Model):
    """A person's judgement of a goal that only a person can judge (``spec.RECORDED_METRICS``: custom,
    evaluation, reach_count): the value, who recorded it and when. Append-only; the dashboards show
    the latest, as a recorded judgement and not as a computed figure."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="records")
    value = models.DecimalField(_("记录值"), max_digits=14, decimal_places=2)
    note = models.CharField(_("依据"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    class Meta:
        verbose_name = _("目标记录")
        verbose_name_plural = _("目标记录")
        indexes = [models.Index(fields=["goal", "-recorded_at"], name="goal_record_latest")]

    def __str__(self) -> str:
        return f"{self.goal_id}={self.value}"


class ObligationRule(models.Model):
    """Recurring or one-off work that falls on every unit of one kind in the campaign's subtree."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rules")
    code = models.CharField(max_length=64)
    title = models.CharField(_("工作要求"), max_length=200)
    level = models.CharField(_("落实层级"), max_length=24)  # a UnitKind value
    frequency = models.CharField(_("频次"), max_length=10, choices=Frequency.choices)
    min_count = models.PositiveSmallIntegerField(_("每期最少次数"), default=1)
    evidence = models.JSONField(_("所需佐证"), default=list, blank=True)
    activity_kinds = models.JSONField(_("计入的活动类型"), default=list, blank=True)
    responsible = models.CharField(_("责任人角色"), max_length=16)  # a MembershipRole value
    due = models.DateField(_("截止日期"), null=True, blank=True)  # for frequency "once"
    description = models.TextField(_("说明"), blank=True)
    # A coverage item (an attestation item such as "parent_notice_signed", or "app_all" for the app's
    # "three 100 %") that must reach ``target`` percent in the unit before a period counts as done.
    measure = models.CharField(_("考核覆盖指标"), max_length=24, blank=True)
    target = models.PositiveSmallIntegerField(_("目标覆盖率（%）"), default=100)
    # Count the kinds of place reached (the records' channels) instead of the records ("five into").
    per_channel = models.BooleanField(_("按场所类型计数"), default=False)
    # A department's duty (the plan's 部门职责): the department, and the names of the units of ``level``
    # it falls on (none: every unit of the level, as 派出所 is every police station).
    department = models.CharField(_("责任部门"), max_length=60, blank=True, default="", db_default="")
    unit_names = models.JSONField(_("落实单位名称"), default=list, db_default=[], blank=True)

    class Meta:
        verbose_name = _("工作要求")
        verbose_name_plural = _("工作要求")
        constraints = [models.UniqueConstraint(fields=["campaign", "code"], name="rule_code_unique")]

    def __str__(self) -> str:
        return self.title


class Obligation(models.Model):
    """One rule applied to one unit; compliance is computed per period of the rule's frequency."""

    rule = models.ForeignKey(ObligationRule, on_delete=models.CASCADE, related_name="obligations")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="obligations")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="obligations")
    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)
    # Named by the campaign's office for a department duty (``duties.actions.assign_person_in_charge``).
    person_in_charge = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("责任人")
    )

    class Meta:
        verbose_name = _("单位工作任务")
        verbose_name_plural = _("单位工作任务")
        constraints = [models.UniqueConstraint(fields=["rule", "unit"], name="obligation_unique")]
        indexes = [models.Index(fields=["campaign", "unit"])]

    def __str__(self) -> str:
        return f"{self.rule_id}@{self.unit_id}"


class PeriodException(models.Model):
    """An administrator's acceptance of one period as done without the required records, with a reason.

    Why a row and not an edited activity: the records stay what they are; pages and exports show the
    period as "accepted as an exception" with who accepted it and why (the campaign history keeps it too).
    """

    obligation = models.ForeignKey(Obligation, on_delete=models.CASCADE, related_name="exceptions")
    period_start = models.DateField(_("周期开始"))
    period_end = models.DateField(_("周期结束"))
    reason = models.TextField(_("理由"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("例外认可")
        verbose_name_plural = _("例外认可")
        constraints = [
            models.UniqueConstraint(fields=["obligation", "period_start"], name="period_exception_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.obligation_id}@{self.period_start}"


class SchoolCalendar(models.Model):
    """One semester of a school's calendar; units below the school inherit it."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="semesters")
    name = models.CharField(_("学期"), max_length=60)
    starts_on = models.DateField(_("开学日期"))
    ends_on = models.DateField(_("结束日期"))

    class Meta:
        verbose_name = _("校历学期")
        verbose_name_plural = _("校历学期")
        ordering = ["unit", "starts_on"]
        constraints = [models.UniqueConstraint(fields=["unit", "starts_on"], name="semester_unique")]

    def __str__(self) -> str:
        return self.name


class Activity(models.Model):
    """An activity that a counsellor or liaison records, with evidence; edits keep history."""

    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    obligation = models.ForeignKey(
        Obligation, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="activities", verbose_name=_("单位")
    )
    kind = models.CharField(_("类型"), max_length=20, choices=ActivityKind.choices)
    occurred_on = models.DateField(_("日期"), db_index=True)
    title = models.CharField(_("标题"), max_length=200)
    summary = models.TextField(_("内容摘要"), blank=True)
    link = models.URLField(_("链接"), blank=True)
    attendance_count = models.PositiveIntegerField(_("参加人数"), null=True, blank=True)
    # Outreach (篇六): the target groups reached and the channel, codes of the campaign template's
    # ``[reach]``; the township or village; materials handed out. People reached: ``attendance_count``.
    # Database defaults too: bulk loaders that write rows in SQL (``bench``) need not know these columns.
    target_groups = models.JSONField(_("重点人群"), default=list, db_default=[], blank=True)
    channel = models.CharField(_("宣传渠道"), max_length=24, blank=True, default="", db_default="")
    area = models.CharField(_("乡镇（村）"), max_length=100, blank=True, default="", db_default="")
    materials_count = models.PositiveIntegerField(_("发放宣传资料"), null=True, blank=True)
    checkin_token = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    is_deleted = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("活动记录")
        verbose_name_plural = _("活动记录")
        ordering = ["-occurred_on", "-id"]
        indexes = [
            models.Index(fields=["unit", "occurred_on"]),
            models.Index(fields=["obligation", "occurred_on"]),
        ]

    def __str__(self) -> str:
        return self.title


class ActivityRevision(models.Model):
    """The state of an activity before an edit (append-only)."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="revisions")
    data = models.JSONField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.activity_id}@{self.at:%Y-%m-%d %H:%M}"


class Attendance(models.Model):
    """A person present at an activity: checked in by QR code or added by the recorder."""

    class Method(models.TextChoices):
        QR = "qr", _("扫码签到")
        MANUAL = "manual", _("手工登记")

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attendances")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="attendances")
    method = models.CharField(max_length=8, choices=Method.choices)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["activity", "person"], name="attendance_unique")]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.activity_id}"


class Evidence(models.Model):
    """A photo, video or document attached to an activity; type checked from content, not name."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("照片")
        VIDEO = "video", _("视频")
        DOCUMENT = "document", _("文档")

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to="evidence/%Y/%m/")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    content_type = models.CharField(max_length=80)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            # The same file twice on one activity (a double tap on a phone) is refused by the database.
            models.UniqueConstraint(fields=["activity", "sha256"], name="evidence_unique_per_activity"),
        ]

    def __str__(self) -> str:
        return self.original_name


class ResponsibilityLetter(models.Model):
    """A responsibility letter (责任书) between an upper and a lower unit, signed by both sides."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="letters")
    level = models.PositiveSmallIntegerField()  # index of the template's letter level
    upper_unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    lower_unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="letters")
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("责任书")
        verbose_name_plural = _("责任书")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "level", "lower_unit"], name="letter_unique"),
        ]

    def __str__(self) -> str:
        return self.title


class LetterSignature(models.Model):
    """One side's signature on a letter: name, time, drawn signature image."""

    class Side(models.TextChoices):
        UPPER = "upper", _("甲方")
        LOWER = "lower", _("乙方")

    letter = models.ForeignKey(ResponsibilityLetter, on_delete=models.CASCADE, related_name="signatures")
    side = models.CharField(max_length=8, choices=Side.choices)
    signer_name = models.CharField(_("签署人"), max_length=60)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    image = models.FileField(upload_to="signatures/%Y/")
    signed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["letter", "side"], name="signature_unique")]

    def __str__(self) -> str:
        return f"{self.letter_id}:{self.side}"


class CampaignEvent(models.Model):
    """Append-only history of a campaign: started, sections edited, obligations synced, closed …"""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    detail = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.kind}"


class Consultation(models.Model):
    """A joint consultation meeting (会商) of a campaign: who convened it, the units present, minutes.

    Its decisions (``ConsultationDecision``) are tasks, each with an owner unit and a due date."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="consultations")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("召集单位"))
    held_on = models.DateField(_("会商日期"))
    title = models.CharField(_("会商议题"), max_length=200)
    minutes = models.TextField(_("会议纪要"), blank=True)
    units_present = models.ManyToManyField("org.Unit", related_name="+", verbose_name=_("参会单位"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("会商会议")
        verbose_name_plural = _("会商会议")
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return self.title


class ConsultationDecision(models.Model):
    """One decision of a consultation: a task for its owner unit, open until closed with a note."""

    class Status(models.TextChoices):
        OPEN = "open", _("未办结")
        DONE = "done", _("已办结")

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="decisions")
    text = models.TextField(_("决定事项"))
    owner_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("责任单位")
    )
    owner_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("责任人")
    )
    due_on = models.DateField(_("办结期限"))
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN)
    done_note = models.TextField(_("办结情况"), blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("会商决定事项")
        verbose_name_plural = _("会商决定事项")
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.text[:50]

    @property
    def is_overdue(self) -> bool:
        """Open past its due date: computed, never stored, so it is right on any day."""
        return self.status == self.Status.OPEN and self.due_on < timezone.localdate()
