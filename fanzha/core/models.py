"""Cross-app records: the audit log of reveals of sensitive data and other privileged acts, the
scheduler's slots and the shared rate-limit counters."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditRecord(models.Model):
    """Who looked at or exported what, and when. Append-only."""

    class Action(models.TextChoices):
        REVEAL = "reveal", _("查看敏感信息")
        EXPORT = "export", _("导出")
        IMPORT = "import", _("导入")
        GRANT = "grant", _("授权")
        ISSUE_CODE = "code_issue", _("发放登录码")
        REVOKE_CODE = "code_revoke", _("作废登录码")
        # Accounts (``org.accounts``): every change of who may sign in, and as what.
        REVOKE = "revoke", _("撤销授权")
        ACCOUNT_CREATE = "account_create", _("开通账号")
        INVITE = "account_invite", _("发送账号邀请")
        DEACTIVATE = "account_off", _("停用账号")
        REACTIVATE = "account_on", _("启用账号")
        PASSWORD_RESET = "password_reset", _("重置密码")
        TEMP_PASSWORD = "temp_password", _("发放临时密码")
        PASSWORD_SET = "password_set", _("设置密码")

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("操作人")
    )
    action = models.CharField(_("动作"), max_length=16, choices=Action.choices)
    object_type = models.CharField(_("对象类型"), max_length=40)
    object_id = models.CharField(_("对象"), max_length=40)
    detail = models.CharField(_("详情"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_id} {self.action} {self.object_type}:{self.object_id}"


class ScheduledRun(models.Model):
    """One periodic job enqueued for one time slot (``core.scheduler``).

    Why a row: its unique (job, slot) pair is what lets two schedulers run at once, or one restart,
    without ever enqueueing the same slot twice — the second insert fails and enqueues nothing.
    """

    job = models.CharField(max_length=40)
    slot = models.DateTimeField()
    enqueued_at = models.DateTimeField(auto_now_add=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="core_scheduledrun_job_slot")]
        indexes = [models.Index(fields=["slot"])]

    def __str__(self) -> str:
        return f"{self.job}@{self.slot:%Y-%m-%d %H:%M}"


class RateCounter(models.Model):
    """One window of one rate-limit counter (``core.ratelimit``), shared by every worker process.

    Why a row: failures counted in a process's own memory let each gunicorn worker grant its own
    five guesses. ``key`` is a keyed hash (never a number, phone or address in clear); ``window_ends``
    is when the window that the first failure opened closes, in epoch seconds (an integer, so that the
    one-statement upsert reads the same on SQLite and PostgreSQL). Core's housekeeping removes rows
    whose window has ended.
    """

    key = models.CharField(max_length=64, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_ends = models.BigIntegerField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key[:12]}… {self.count}"
