"""Knowledge and learning: fraud types, articles, tips, slogans, the quiz bank and attempts,
and the daily-tip schedules of class chat groups.

Content ships as data files in ``content/`` (our own writing) and is loaded by
``actions.sync_content``; organisations may add their own articles and questions.
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fanzha.notify.models import Channel
from fanzha.org.models import Person, Unit


class Audience(models.TextChoices):
    CHILD = "child", _("幼儿与小学生")
    STUDENT = "student", _("学生")
    STAFF = "staff", _("教职工")
    PARENT = "parent", _("家长")
    ELDERLY = "elderly", _("老年人")
    PUBLIC = "public", _("社会公众")


class FraudType(models.Model):
    """One of the twelve official fraud types (plus "other"): how it works, signs, what to do."""

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    order = models.PositiveSmallIntegerField(default=0)
    how_it_works = models.TextField(_("作案手法"))
    warning_signs = models.JSONField(_("识别要点"), default=list)
    what_to_do = models.JSONField(_("应对方法"), default=list)

    class Meta:
        ordering = ["order"]
        verbose_name = _("诈骗类型")
        verbose_name_plural = _("诈骗类型")

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    """A knowledge-base article; published articles count towards the weekly-article obligation."""

    class Kind(models.TextChoices):
        FRAUD_TYPE = "fraud_type", _("诈骗类型解读")
        RULES = "rules", _("防骗守则")
        LAW = "law", _("法律知识")
        CASE = "case", _("典型案例")
        GUIDE = "guide", _("指南")

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(_("标题"), max_length=200)
    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    audiences = models.JSONField(_("适用对象"), default=list)
    fraud_types = models.JSONField(_("涉及诈骗类型"), default=list)
    body = models.TextField(_("正文"))
    published_on = models.DateField(_("发布日期"), null=True, blank=True)
    owner_unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    is_builtin = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The activity records that publishing it counted towards (one per weekly-article obligation).
    activities = models.ManyToManyField("campaigns.Activity", blank=True, related_name="+")

    class Meta:
        ordering = ["-published_on", "title"]
        verbose_name = _("文章")
        verbose_name_plural = _("文章")

    def __str__(self) -> str:
        return self.title


class Tip(models.Model):
    """A short anti-fraud tip for a class chat group, one per day."""

    code = models.SlugField(max_length=40, unique=True)
    text = models.CharField(_("提示"), max_length=300)
    audiences = models.JSONField(_("适用对象"), default=list)
    fraud_type = models.CharField(_("诈骗类型"), max_length=32, blank=True)
    is_builtin = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("防诈提示")
        verbose_name_plural = _("防诈提示")

    def __str__(self) -> str:
        return self.text[:40]


class Slogan(models.Model):
    """A publicity slogan (for posters, banners, radio)."""

    text = models.CharField(_("标语"), max_length=120, unique=True)
    audiences = models.JSONField(_("适用对象"), default=list)

    def __str__(self) -> str:
        return self.text


class Question(models.Model):
    """A quiz question of our own, with an explanation shown after answering."""

    class Kind(models.TextChoices):
        SINGLE = "single", _("单选题")
        MULTIPLE = "multiple", _("多选题")
        TRUE_FALSE = "true_false", _("判断题")

    code = models.SlugField(max_length=40, unique=True)
    kind = models.CharField(_("题型"), max_length=12, choices=Kind.choices)
    stem = models.TextField(_("题干"))
    choices = models.JSONField(_("选项"), default=list)  # ["...", "..."]; true/false: ["正确", "错误"]
    answer = models.JSONField(_("答案"))  # list of choice indexes
    explanation = models.TextField(_("解析"))
    audiences = models.JSONField(_("适用对象"), default=list)
    fraud_type = models.CharField(_("诈骗类型"), max_length=32, blank=True)
    difficulty = models.PositiveSmallIntegerField(_("难度"), default=1)
    is_builtin = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("题目")
        verbose_name_plural = _("题目")

    def __str__(self) -> str:
        return self.stem[:40]


class QuizPaper(models.Model):
    """A paper rule: how many questions of each kind for an audience, time limit, pass mark, attempts."""

    code = models.SlugField(max_length=40, unique=True)
    title = models.CharField(_("试卷名称"), max_length=120)
    audience = models.CharField(_("适用对象"), max_length=16, choices=Audience.choices)
    rules = models.JSONField(_("抽题规则"), default=dict)  # {"single": 10, "multiple": 5, "true_false": 5}
    time_limit_minutes = models.PositiveSmallIntegerField(_("时限（分钟）"), default=20)
    pass_mark = models.PositiveSmallIntegerField(_("及格分（百分制）"), default=80)
    max_attempts = models.PositiveSmallIntegerField(_("最多作答次数"), default=3)
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="papers"
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("试卷")
        verbose_name_plural = _("试卷")

    def __str__(self) -> str:
        return self.title


class Attempt(models.Model):
    """One person's attempt at a paper: the drawn questions, answers, score."""

    paper = models.ForeignKey(QuizPaper, on_delete=models.CASCADE, related_name="attempts")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="quiz_attempts")
    questions = models.JSONField()  # question ids in order
    answers = models.JSONField(default=dict)  # {question id: [choice indexes]}
    started_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    passed = models.BooleanField(default=False)
    late = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["person", "paper"]),
            models.Index(fields=["passed", "submitted_at"]),
        ]
        constraints = [
            # At most one open attempt per person and paper: two taps on "start" make one attempt.
            models.UniqueConstraint(
                fields=["person", "paper"], condition=Q(submitted_at__isnull=True), name="attempt_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}:{self.paper_id}"


class TipSchedule(models.Model):
    """Posts one tip a day to a class chat group's robot, without repeating within a window."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="tip_schedules")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="tip_schedules")
    post_time = models.TimeField(_("发送时间"), default=time(8, 0))
    no_repeat_days = models.PositiveSmallIntegerField(_("不重复天数"), default=60)
    audience = models.CharField(
        _("适用对象"), max_length=16, choices=Audience.choices, default=Audience.STUDENT
    )
    starts_on = models.DateField(_("开始日期"), default=timezone.localdate)
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("每日提示计划")
        verbose_name_plural = _("每日提示计划")
        # One schedule per chat group: two would post two tips a day to the same group.
        constraints = [models.UniqueConstraint(fields=["channel"], name="tip_schedule_one_per_channel")]

    def __str__(self) -> str:
        return f"{self.unit_id}:{self.channel_id}"


class TipPost(models.Model):
    """The tip chosen for one schedule on one day; its outbox row does the sending."""

    schedule = models.ForeignKey(TipSchedule, on_delete=models.CASCADE, related_name="posts")
    day = models.DateField()
    tip = models.ForeignKey(Tip, on_delete=models.PROTECT, related_name="+")
    outbox = models.ForeignKey("notify.Outbox", null=True, on_delete=models.SET_NULL, related_name="+")
    # The "tip" activity recorded for the class's daily-tip obligation once the post was sent.
    activity = models.ForeignKey(
        "campaigns.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["schedule", "day"], name="tip_post_unique")]

    def __str__(self) -> str:
        return f"{self.schedule_id}@{self.day}"


class ClassTipPost(models.Model):
    """A day's tip that the class's student liaison posted by hand in a class group with no robot
    (personal WeChat or QQ groups), marked "已发到班级群" on their phone.

    Why a row of its own: a ``TipPost`` belongs to a robot's schedule and its outbox; this one has
    neither, only the class, the day and who posted it. Its "tip" activity counts for the class's
    daily-tip duty exactly as a robot's post does.
    """

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="class_tip_posts")
    day = models.DateField()
    tip = models.ForeignKey(Tip, on_delete=models.PROTECT, related_name="+")
    posted_by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    activity = models.ForeignKey(
        "campaigns.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("班级群手动提示")
        verbose_name_plural = _("班级群手动提示")
        constraints = [models.UniqueConstraint(fields=["unit", "day"], name="class_tip_post_unique")]

    def __str__(self) -> str:
        return f"{self.unit_id}@{self.day}"
