"""The case ledger: every fraud case, its money trail, the emergency stop-payment alert, the
victim's follow-up, the trace-back (倒查) and the accountability actions it leads to.

Privacy: the victim's phone and ID numbers, family situation, source of funds and own paying
accounts are stored encrypted (``core.crypto``), with a keyed hash where equality search is
needed and a masked copy for lists. Suspects' numbers, accounts and URLs are the evidence the
police work with and the keys of case linking, so they are stored plain. Every write goes
through ``actions.py`` (the app's and each feature package's); every read through ``queries.py``.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fanzha.campaigns.models import Campaign
from fanzha.core import crypto
from fanzha.core.identifiers import mask_id_number, mask_phone
from fanzha.org.models import Person, Unit


class FraudKind(models.TextChoices):
    """The twelve official types and "other" (the same codes as ``learn``'s fraud types)."""

    BRUSHING = "brushing", _("刷单返利类")
    FAKE_CS = "fake_cs", _("冒充电商物流客服类")
    INVESTMENT = "investment", _("虚假网络投资理财类")
    LOAN = "loan", _("贷款、代办信用卡类")
    CREDIT = "credit", _("虚假征信类")
    SHOPPING = "shopping", _("虚假购物、服务类")
    POLICE = "police", _("冒充公检法及政府机关类")
    ACQUAINTANCE = "acquaintance", _("冒充领导、熟人类")
    GAME = "game", _("网络游戏产品虚假交易类")
    ROMANCE = "romance", _("网络婚恋、交友类")
    MILITARY = "military", _("冒充军警购物类")
    BLACKHAT = "blackhat", _("网黑案件")
    OTHER = "other", _("其他类型诈骗")


class ContactChannel(models.TextChoices):
    """How the fraudster reached the victim."""

    CALL = "call", _("电话")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信")
    QQ = "qq", _("QQ")
    APP = "app", _("App")
    WEBSITE = "website", _("网站")
    IN_PERSON = "in_person", _("当面")
    OTHER = "other", _("其他")


class FundSource(models.TextChoices):
    LIVING_ALLOWANCE = "living_allowance", _("生活费")
    LOAN = "loan", _("贷款/网贷")
    FAMILY = "family", _("家人资助")
    SAVINGS = "savings", _("个人积蓄")
    SALARY = "salary", _("工资/兼职收入")
    SCHOLARSHIP = "scholarship", _("奖助学金")
    BORROWED = "borrowed", _("向他人借款")
    OTHER = "other", _("其他")


class CaseState(models.TextChoices):
    REPORTED = "reported", _("已报告")
    ALERTED = "alerted", _("已预警止付")
    FILED = "filed", _("已立案")
    INVESTIGATING = "investigating", _("侦办中")
    CLOSED = "closed", _("已结案")


class Outcome(models.TextChoices):
    RECOVERED = "recovered", _("全部追回")
    PARTLY = "partly", _("部分追回")
    UNRECOVERED = "unrecovered", _("未追回")


class ReportedVia(models.TextChoices):
    STAFF = "staff", _("工作人员录入")
    SELF = "self", _("本人手机报告")
    POLICE = "police", _("派出所接报")


class Case(models.Model):
    """One fraud case of one victim."""

    number = models.CharField(_("案件编号"), max_length=24, unique=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="cases", verbose_name=_("所属单位"))
    state = models.CharField(_("状态"), max_length=16, choices=CaseState.choices, default=CaseState.REPORTED)
    outcome = models.CharField(_("结果"), max_length=12, choices=Outcome.choices, blank=True)

    # The victim: a person of the roster, or a resident known only by what the intake records.
    victim = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        verbose_name=_("受害人"),
    )
    victim_name = models.CharField(_("受害人姓名"), max_length=60)
    victim_phone_enc = models.TextField(blank=True, editable=False)
    victim_phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    victim_phone_masked = models.CharField(_("受害人电话"), max_length=20, blank=True, editable=False)
    victim_id_enc = models.TextField(blank=True, editable=False)
    victim_id_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    victim_id_masked = models.CharField(_("受害人身份证号"), max_length=20, blank=True, editable=False)

    occurred_at = models.DateTimeField(_("发案时间"))
    reported_at = models.DateTimeField(_("报案时间"))
    place = models.CharField(_("发案地点"), max_length=200, blank=True)
    channel = models.CharField(_("接触方式"), max_length=12, choices=ContactChannel.choices)
    fraud_type = models.CharField(_("诈骗类型"), max_length=16, choices=FraudKind.choices, db_index=True)
    impersonated = models.CharField(_("冒充身份"), max_length=100, blank=True)
    narrative = models.TextField(_("简要案情"), blank=True)
    total_loss = models.DecimalField(
        _("损失金额（元）"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    # Encrypted: JSON {"sources": [FundSource…], "note": "…"} and free text.
    funds_enc = models.TextField(blank=True, editable=False)
    family_enc = models.TextField(blank=True, editable=False)

    last_transfer_at = models.DateTimeField(_("最后转账时间"), null=True, blank=True)
    police_case_number = models.CharField(_("公安立案编号"), max_length=40, blank=True)
    frozen_amount = models.DecimalField(
        _("止付冻结金额"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    recovered_amount = models.DecimalField(
        _("追回金额"), max_digits=14, decimal_places=2, default=Decimal("0")
    )

    reported_via = models.CharField(_("报告方式"), max_length=8, choices=ReportedVia.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A double submit of the same form carries the same token: the second returns the first case.
    submit_token = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        constraints = [
            models.UniqueConstraint(
                fields=["submit_token"], condition=~Q(submit_token=""), name="case_submit_token_unique"
            ),
            models.CheckConstraint(condition=Q(total_loss__gte=0), name="case_loss_not_negative"),
        ]
        indexes = [models.Index(fields=["unit", "reported_at"]), models.Index(fields=["state"])]

    def __str__(self) -> str:
        return self.number

    # Sensitive values: set and read through these so encryption, hash and mask stay in step.
    def set_victim_phone(self, normalized: str) -> None:
        self.victim_phone_enc, self.victim_phone_hash, self.victim_phone_masked = crypto.seal(
            normalized, mask_phone
        )

    def set_victim_id(self, normalized: str) -> None:
        self.victim_id_enc, self.victim_id_hash, self.victim_id_masked = crypto.seal(
            normalized, mask_id_number
        )

    def set_funds(self, sources: list[str], note: str = "") -> None:
        self.funds_enc = crypto.encrypt(json.dumps({"sources": sources, "note": note}, ensure_ascii=False))

    def set_family(self, text: str) -> None:
        self.family_enc = crypto.encrypt(text)

    @property
    def funds(self) -> dict[str, Any]:
        """Decrypted source of funds. Only ``actions.reveal_case`` and exports with --reveal read it."""
        raw = crypto.decrypt(self.funds_enc)
        return json.loads(raw) if raw else {"sources": [], "note": ""}

    @property
    def family(self) -> str:
        return crypto.decrypt(self.family_enc)

    @property
    def victim_masked_name(self) -> str:
        """``张三`` → ``张*``: what lists and exports show by default."""
        name = self.victim_name
        if len(name) <= 1:
            return name
        return name[0] + "*" * (len(name) - 1)

    @property
    def is_open(self) -> bool:
        return self.state != CaseState.CLOSED


class IndicatorKind(models.TextChoices):
    PHONE = "phone", _("电话号码")
    BANK_CARD = "bank_card", _("银行卡")
    ALIPAY = "alipay", _("支付宝")
    WECHAT_PAY = "wechat_pay", _("微信支付")
    OTHER_ACCOUNT = "other_account", _("其他账户")
    URL = "url", _("网址")
    APP = "app", _("App")
    QQ = "qq", _("QQ号")
    WECHAT = "wechat", _("微信号")


class Side(models.TextChoices):
    SUSPECT = "suspect", _("嫌疑人")
    VICTIM = "victim", _("受害人")


class Indicator(models.Model):
    """A phone number, account, URL or app of the case: the suspect's (kept plain, linkable) or the
    victim's own paying account (kept encrypted, masked)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="indicators")
    side = models.CharField(_("归属"), max_length=8, choices=Side.choices, default=Side.SUSPECT)
    kind = models.CharField(_("类型"), max_length=16, choices=IndicatorKind.choices)
    value = models.CharField(_("号码/账号/网址"), max_length=500, blank=True)  # "" for the victim's side
    value_enc = models.TextField(blank=True, editable=False)
    value_hash = models.CharField(max_length=64, db_index=True, editable=False)
    value_masked = models.CharField(max_length=64, blank=True, editable=False)
    note = models.CharField(_("备注"), max_length=200, blank=True)  # bank name, account holder …

    class Meta:
        verbose_name = _("涉案线索")
        verbose_name_plural = _("涉案线索")
        constraints = [
            models.UniqueConstraint(fields=["case", "side", "kind", "value_hash"], name="indicator_unique"),
        ]
        indexes = [models.Index(fields=["kind", "value_hash"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.shown}"

    @property
    def shown(self) -> str:
        """What a list shows: the suspect's value, or the victim's value masked."""
        return self.value if self.side == Side.SUSPECT else self.value_masked


class TransferMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("银行转账")
    ALIPAY = "alipay", _("支付宝")
    WECHAT_PAY = "wechat_pay", _("微信支付")
    CASH = "cash", _("现金")
    GIFT_CARD = "gift_card", _("充值卡/游戏点卡")
    CRYPTO = "crypto", _("虚拟货币")
    OTHER = "other", _("其他")


class Transfer(models.Model):
    """One payment the victim made: when, how much, how, from which of their accounts, to whom."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transfers")
    at = models.DateTimeField(_("转账时间"))
    amount = models.DecimalField(_("金额（元）"), max_digits=14, decimal_places=2)
    method = models.CharField(_("方式"), max_length=16, choices=TransferMethod.choices)
    from_enc = models.TextField(blank=True, editable=False)  # the victim's account, encrypted
    from_masked = models.CharField(_("付款账户"), max_length=64, blank=True, editable=False)
    to_account = models.CharField(_("收款账户"), max_length=100, blank=True)
    to_name = models.CharField(_("收款户名/银行"), max_length=100, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("转账记录")
        verbose_name_plural = _("转账记录")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="transfer_amount_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.amount}"


class Attachment(models.Model):
    """A file of the case (screenshots, chat records, receipts); checked by content, not by name."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="cases/%Y/%m/")
    content_type = models.CharField(max_length=80)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.original_name


class CaseDraft(models.Model):
    """An intake form saved as it is typed (autosave), whole and unvalidated, encrypted.

    Why a row of its own: a half-typed case must survive a closed tab or a dead battery, but must
    not appear in the ledger, the statistics or the alerts until it is submitted and valid.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    data_enc = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"draft {self.pk}"

    @property
    def data(self) -> dict[str, Any]:
        raw = crypto.decrypt(self.data_enc)
        return json.loads(raw) if raw else {}


class CaseEvent(models.Model):
    """Append-only history of a case: every state change and every other change, who and when.

    Written in the transaction of the change itself, by ``actions`` only; nothing updates or deletes
    a row. ``detail`` never holds sensitive values (it names fields, not their contents).
    """

    class Kind(models.TextChoices):
        REPORTED = "reported", _("报告案件")
        STATE = "state", _("状态变更")
        EDITED = "edited", _("修改案情")
        ATTACHED = "attached", _("上传附件")
        ALERT_SENT = "alert_sent", _("发出止付预警")
        ESCALATED = "escalated", _("预警升级")
        ACKNOWLEDGED = "acknowledged", _("警方确认")
        OUTCOME = "outcome", _("止付结果")
        FOLLOWUP = "followup", _("心理疏导")
        TRACEBACK = "traceback", _("倒查")
        ACCOUNTABILITY = "accountability", _("问责")
        REVEALED = "revealed", _("查看敏感信息")
        CALLBACK = "callback", _("回访")
        FREEZE_SENT = "freeze_sent", _("发出止付冻结请求")
        FREEZE_ANSWERED = "freeze_answered", _("银行答复止付冻结")
        FREEZE_OVERDUE = "freeze_overdue", _("止付冻结请求超时")
        RESULT = "result", _("破案战果")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state_before = models.CharField(max_length=16, blank=True)
    state_after = models.CharField(max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(db_index=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("案件记录")
        verbose_name_plural = _("案件记录")

    def __str__(self) -> str:
        return f"{self.case_id}:{self.kind}"


class Alert(models.Model):
    """The emergency stop-payment alert (紧急止付预警) of a case.

    ``ENDED``: the case was closed, so the alert is over whatever it had reached (acknowledged and
    resolved times stay as they were): it leaves the police queue and never escalates again.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("待警方确认")
        ACKNOWLEDGED = "acknowledged", _("警方已确认")
        RESOLVED = "resolved", _("已处置")
        ENDED = "ended", _("已结束（案件已结案）")

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="alert")
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.OPEN)
    raised_at = models.DateTimeField(_("预警时间"))
    tier = models.PositiveSmallIntegerField(_("当前通知层级"), default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True, db_index=True)
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    outcome_note = models.CharField(_("处置说明"), max_length=300, blank=True)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("止付预警")
        verbose_name_plural = _("止付预警")

    def __str__(self) -> str:
        return f"alert {self.case_id}"

    @property
    def seconds_to_alert(self) -> float:
        """From the report to the alert going out."""
        return (self.raised_at - self.case.reported_at).total_seconds()

    @property
    def seconds_to_ack(self) -> float | None:
        if self.acknowledged_at is None:
            return None
        return (self.acknowledged_at - self.raised_at).total_seconds()


class AlertRecipient(models.Model):
    """Who an alert went to, at which tier and over which channel (one row per outbox message), and
    why: a contact of the tier, or the victim's own counsellor told of a self-report."""

    class Reason(models.TextChoices):
        CONTACT = "", _("预警联系人")
        COUNSELLOR = "counsellor", _("学生的辅导员（学生自报）")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="recipients")
    tier = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=12, choices=Reason.choices, default=Reason.CONTACT, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel_kind = models.CharField(max_length=10)
    outbox = models.ForeignKey(
        "notify.Outbox", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["tier", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id}:{self.tier}:{self.channel_kind}"


class FollowUp(models.Model):
    """The victim's counselling plan (心理疏导): who looks after them, when next, and its closure."""

    class Status(models.TextChoices):
        OPEN = "open", _("进行中")
        CLOSED = "closed", _("已结束")

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="followup")
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    psychologist = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN)
    planned_sessions = models.PositiveSmallIntegerField(_("计划次数"), default=3)
    next_date = models.DateField(_("下次日期"), null=True, blank=True, db_index=True)
    plan_enc = models.TextField(blank=True, editable=False)  # the plan's text, counsellor roles only
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_enc = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"followup {self.case_id}"


class FollowUpSession(models.Model):
    """One counselling session; its notes are readable by the counsellor and psychologist roles only."""

    followup = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="sessions")
    held_on = models.DateField(_("日期"))
    notes_enc = models.TextField(blank=True, editable=False)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["held_on", "id"]

    def __str__(self) -> str:
        return f"{self.followup_id}@{self.held_on}"


class TraceBack(models.Model):
    """The trace-back (倒查) of a case: the victim's reach record and the unit's compliance as they
    were when the case happened, frozen at generation, and the lessons drawn."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="traceback")
    generated_at = models.DateTimeField()
    as_of = models.DateTimeField()  # the moment the snapshot describes (the case's occurred_at)
    snapshot = models.JSONField(default=dict)
    lessons = models.TextField(_("教训与整改"), blank=True)
    lessons_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lessons_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"traceback {self.case_id}"


class AccountabilityAction(models.Model):
    """An accountability action a campaign's rules call for: listing (挂牌督办), interview (约谈),
    notice (通报), with issued and acknowledged status."""

    class Action(models.TextChoices):
        LISTING = "listing", _("挂牌督办")
        INTERVIEW = "interview", _("约谈")
        NOTICE = "notice", _("通报")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("待下发")
        ISSUED = "issued", _("已下发")
        ACKNOWLEDGED = "acknowledged", _("已签收")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="accountability")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+", verbose_name=_("问责单位"))
    action = models.CharField(_("问责方式"), max_length=10, choices=Action.choices)
    rule = models.CharField(_("依据"), max_length=300)
    status = models.CharField(_("状态"), max_length=14, choices=Status.choices, default=Status.PROPOSED)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("问责")
        verbose_name_plural = _("问责")
        constraints = [
            models.UniqueConstraint(fields=["case", "campaign", "action"], name="accountability_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.action}:{self.status}"


# Card fraud among students ("两卡": renting or selling bank cards and phone cards) ------------------


class CardKind(models.TextChoices):
    BANK = "bank", _("银行卡")
    PHONE = "phone", _("手机卡")
    BOTH = "both", _("银行卡和手机卡")


class CardInvolvement(models.TextChoices):
    RENT = "rent", _("出租")
    SELL = "sell", _("出售")
    LEND = "lend", _("出借")
    BUY = "buy", _("收购/介绍他人办卡")


class CardHandling(models.TextChoices):
    PENDING = "pending", _("待处理")
    EDUCATED = "educated", _("批评教育")
    WARNED = "warned", _("警告处分")
    DEMERIT = "demerit", _("记过及以上处分")
    POLICE = "police", _("移交公安机关")


class CardFraudRecord(models.Model):
    """One student involved in renting or selling bank or phone cards (涉"两卡"): how it came to light,
    how it was handled and the law education given. Scoped by the student's unit like cases; the card
    details (numbers, bank, who bought them) are encrypted and shown only through an audited reveal."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("所属单位"))
    student = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="card_fraud_records", verbose_name=_("学生")
    )
    card_kind = models.CharField(_("卡的类型"), max_length=8, choices=CardKind.choices)
    involvement = models.CharField(_("涉及行为"), max_length=8, choices=CardInvolvement.choices)
    found_on = models.DateField(_("发现日期"), db_index=True)
    source = models.CharField(_("线索来源"), max_length=100, blank=True)
    details_enc = models.TextField(blank=True, editable=False)  # card numbers, bank, buyer: encrypted
    handling = models.CharField(
        _("处理方式"), max_length=8, choices=CardHandling.choices, default=CardHandling.PENDING
    )
    education = models.TextField(_("教育情况"), blank=True)
    educated_on = models.DateField(_("教育日期"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-found_on", "-id"]
        verbose_name = _("涉“两卡”学生")
        verbose_name_plural = _("涉“两卡”学生")
        indexes = [models.Index(fields=["unit", "found_on"])]

    def __str__(self) -> str:
        return f"card-fraud {self.pk}"

    def set_details(self, text: str) -> None:
        self.details_enc = crypto.encrypt(text) if text else ""

    @property
    def details(self) -> str:
        """Decrypted card details. Only ``cardfraud.actions.reveal`` reads it."""
        return crypto.decrypt(self.details_enc) if self.details_enc else ""

    @property
    def student_masked_name(self) -> str:
        """``张三`` → ``张*``: what lists show by default."""
        name = self.student.name
        return name if len(name) <= 1 else name[0] + "*" * (len(name) - 1)

    @property
    def is_handled(self) -> bool:
        return self.handling != CardHandling.PENDING and bool(self.education.strip())


class CardFraudEvent(models.Model):
    """Append-only history of a card-fraud record: who recorded, changed or revealed it, and when."""

    class Kind(models.TextChoices):
        RECORDED = "recorded", _("登记")
        HANDLED = "handled", _("更新处理")
        REVEALED = "revealed", _("查看卡片信息")

    record = models.ForeignKey(CardFraudRecord, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.record_id}:{self.kind}"


# Clues, dispatch and feedback (篇五: the command centre's clue work) -----------------------------------


class ClueSource(models.TextChoices):
    CASE = "case", _("案件")
    CALL = "call", _("群众来电")
    NATIONAL = "national", _("国家反诈中心预警")
    BANK = "bank", _("银行")
    OTHER = "other", _("其他")


class ClueState(models.TextChoices):
    NEW = "new", _("新线索")
    DISPATCHED = "dispatched", _("已下发")
    ANSWERED = "answered", _("已反馈")
    CLOSED = "closed", _("已办结")


class ClueOutcome(models.TextChoices):
    VERIFIED = "verified", _("核实属实")
    UNFOUNDED = "unfounded", _("核实不实")
    HANDLED = "handled", _("已处置")
    OTHER = "other", _("其他")


class Clue(models.Model):
    """A clue the command centre records (``centre``: the police unit that owns it), dispatches to a
    department or station (``assignee``) with a deadline, and gets answered. Both units' people see it
    (``clues.queries``); a clue past its deadline without feedback is escalated once by the job."""

    number = models.CharField(_("线索编号"), max_length=24, unique=True)
    centre = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="clues", verbose_name=_("指挥中心")
    )
    source = models.CharField(_("来源"), max_length=10, choices=ClueSource.choices)
    content = models.TextField(_("线索内容"))
    indicators = models.TextField(_("涉诈号码/账号/网址"), blank=True)
    case = models.ForeignKey(
        "Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="clues",
        verbose_name=_("关联案件"),
    )
    state = models.CharField(_("状态"), max_length=12, choices=ClueState.choices, default=ClueState.NEW)
    assignee = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_clues",
        verbose_name=_("承办单位"),
    )
    deadline = models.DateTimeField(_("反馈期限"), null=True, blank=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(_("催办时间"), null=True, blank=True)
    feedback = models.TextField(_("反馈内容"), blank=True)
    outcome = models.CharField(_("核查结果"), max_length=10, choices=ClueOutcome.choices, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("线索")

    def __str__(self) -> str:
        return self.number

    def is_overdue(self, now: Any) -> bool:
        """Dispatched, not answered, and past its deadline."""
        return self.state == ClueState.DISPATCHED and self.deadline is not None and self.deadline < now


class DissuasionOutcome(models.TextChoices):
    REACHED = "reached", _("已联系")
    DISSUADED = "dissuaded", _("劝阻成功")
    LOSS_AVOIDED = "avoided", _("避免损失")
    UNREACHABLE = "unreachable", _("无法联系")


class DissuasionTask(models.Model):
    """One potential victim of a warning list (预警名单) imported by the command centre: a station calls
    or visits them (劝阻) and closes the task with the outcome. The phone is sealed like a victim's."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("派出所"))
    batch = models.CharField(_("名单批次"), max_length=80)
    # The confirmation an import came from (``clues.warnlist.seal_rows``): confirming twice imports once.
    import_key = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    name = models.CharField(_("姓名"), max_length=60)
    phone_enc = models.TextField(blank=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_masked = models.CharField(_("电话"), max_length=20, blank=True, editable=False)
    reason = models.CharField(_("预警原因"), max_length=200, blank=True)
    outcome = models.CharField(_("劝阻结果"), max_length=12, choices=DissuasionOutcome.choices, blank=True)
    amount = models.DecimalField(
        _("避免损失金额（元）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    note = models.CharField(_("备注"), max_length=300, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Open tasks first on every database (PostgreSQL sorts NULL last by default, SQLite first).
        ordering = [models.F("closed_at").asc(nulls_first=True), "-created_at", "-id"]
        verbose_name = _("劝阻任务")

    def __str__(self) -> str:
        return f"{self.batch}:{self.pk}"

    def set_phone(self, normalized: str) -> None:
        self.phone_enc, self.phone_hash, self.phone_masked = crypto.seal(normalized, mask_phone)

    @property
    def masked_name(self) -> str:
        return self.name if len(self.name) <= 1 else self.name[0] + "*" * (len(self.name) - 1)


class CallbackOutcome(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    NOT_REACHED = "not_reached", _("未联系上")
    NEEDS_HELP = "needs_help", _("需要帮助")
    OTHER = "other", _("其他")


class Callback(models.Model):
    """The callback to a victim (回访) a number of days after their case is closed
    (``FANZHA_CALLBACK_DAYS``), recorded with its outcome."""

    case = models.OneToOneField("Case", on_delete=models.CASCADE, related_name="callback")
    due_on = models.DateField(_("回访日期"), db_index=True)
    outcome = models.CharField(_("回访结果"), max_length=12, choices=CallbackOutcome.choices, blank=True)
    note = models.CharField(_("备注"), max_length=300, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("回访")

    def __str__(self) -> str:
        return f"{self.case_id}:{self.due_on}"


# Freeze, stop-payment and number-block requests to the bank side (止付冻结与号码停机) -------------------


class FreezeRequest(models.Model):
    """One request from the police to freeze or stop payment on a payee account of a case, or to block
    one of its phone numbers, sent to the unit that must act (a bank's unit; for numbers, the police
    bureau's technical department while no telecom unit exists in the tree) with a deadline, and the
    answer: what happened to the account and when. The times (request → answer → frozen) are what the
    plan measures.

    The account or number is stored encrypted with a keyed hash (one request per case, kind and
    value) and a masked copy for lists: the pages show it masked and reveal it, audited, to whoever
    must act on it (``freeze.actions.reveal_target``).
    """

    class Kind(models.TextChoices):
        FREEZE = "freeze", _("冻结")
        STOP_PAYMENT = "stop_payment", _("紧急止付")
        NUMBER_BLOCK = "number_block", _("号码停机")

    class Status(models.TextChoices):
        PENDING = "pending", _("待答复")
        ANSWERED = "answered", _("已答复")

    class Result(models.TextChoices):
        FROZEN = "frozen", _("已冻结/已止付")
        BLOCKED = "blocked", _("号码已停机")
        EMPTY = "empty", _("账户已无余额")
        NOT_FOUND = "not_found", _("查无此账户/号码")
        REFUSED = "refused", _("不予办理")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="freeze_requests")
    kind = models.CharField(_("请求类型"), max_length=16, choices=Kind.choices)
    target_enc = models.TextField(editable=False)
    target_hash = models.CharField(max_length=64, editable=False)
    target_masked = models.CharField(_("账号/号码"), max_length=64, editable=False)
    bank_text = models.CharField(_("开户行/户名"), max_length=200, blank=True)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="freeze_requests", verbose_name=_("接收单位")
    )
    routed = models.BooleanField(default=True)  # False: the police chose the unit by hand
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    deadline = models.DateTimeField(_("答复时限"))
    requested_at = models.DateTimeField(_("请求时间"), db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overdue_at = models.DateTimeField(_("超时升级时间"), null=True, blank=True)
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    result = models.CharField(_("办理结果"), max_length=10, choices=Result.choices, blank=True)
    frozen_amount = models.DecimalField(
        _("冻结金额（元）"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    frozen_at = models.DateTimeField(_("冻结生效时间"), null=True, blank=True)
    reason = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("止付冻结请求")
        verbose_name_plural = _("止付冻结请求")
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "target_hash"], name="freeze_request_unique"),
            models.CheckConstraint(condition=Q(frozen_amount__gte=0), name="freeze_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "deadline"]), models.Index(fields=["unit", "status"])]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.kind}:{self.target_masked}"

    @property
    def is_number(self) -> bool:
        return self.kind == self.Kind.NUMBER_BLOCK

    def is_overdue(self, now: datetime) -> bool:
        """Unanswered past the deadline, or answered after it."""
        if self.answered_at is not None:
            return self.answered_at > self.deadline
        return now > self.deadline

    @property
    def minutes_to_answer(self) -> float | None:
        if self.answered_at is None:
            return None
        return (self.answered_at - self.requested_at).total_seconds() / 60

    @property
    def minutes_to_frozen(self) -> float | None:
        if self.frozen_at is None:
            return None
        return (self.frozen_at - self.requested_at).total_seconds() / 60


class CaseResult(models.Model):
    """One result the police record on a case, dated by when it happened (the figures count by this
    date, not the case's): the case cleared (破案, once), suspects caught (a count), money recovered (an
    amount, added to ``Case.recovered_amount`` so the ledger and the results agree)."""

    class Kind(models.TextChoices):
        CLEARED = "cleared", _("破案")
        SUSPECTS = "suspects", _("抓获嫌疑人")
        RECOVERED = "recovered", _("追赃挽损")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="results")
    kind = models.CharField(_("战果类型"), max_length=12, choices=Kind.choices)
    on = models.DateField(_("日期"), db_index=True)
    count = models.PositiveIntegerField(_("抓获人数"), default=0)
    amount = models.DecimalField(_("追回金额（元）"), max_digits=14, decimal_places=2, default=Decimal("0"))
    note = models.CharField(_("备注"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["on", "id"]
        verbose_name = _("破案战果")
        verbose_name_plural = _("破案战果")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(kind="cleared"), name="case_result_cleared_once"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="case_result_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.kind}:{self.on}"


class Gang(models.Model):
    """A fraud gang broken (打掉团伙) by a police unit: when, how many members caught, and the cases of
    the ledger it is linked to (each in the recording user's scope)."""

    name = models.CharField(_("团伙名称"), max_length=100)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="gangs", verbose_name=_("办案单位"))
    broken_on = models.DateField(_("打掉日期"), db_index=True)
    members_caught = models.PositiveIntegerField(_("抓获成员数"), default=0)
    cases = models.ManyToManyField(Case, related_name="gangs", verbose_name=_("关联案件"))
    note = models.CharField(_("备注"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-broken_on", "-id"]
        verbose_name = _("打掉团伙")
        verbose_name_plural = _("打掉团伙")

    def __str__(self) -> str:
        return self.name
