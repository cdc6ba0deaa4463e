"""The organisation grid: units in a tree, people, memberships, guardians, accounts and role grants.

The unit tree is a treebeard materialized path, so a subtree is one indexed prefix match on
``path``. Every write goes through ``actions.py``; every read of people goes through
``scope.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from fanzha.core import crypto
from fanzha.core.identifiers import mask_id_number, mask_phone
from fanzha.core.storage import PrivateStorage


class UnitKind(models.TextChoices):
    BUREAU_PROVINCE = "bureau_province", _("省级教育局")
    BUREAU_CITY = "bureau_city", _("市级教育局")
    BUREAU_DISTRICT = "bureau_district", _("区县教育局")
    SCHOOL = "school", _("学校")
    KINDERGARTEN = "kindergarten", _("幼儿园")
    COLLEGE = "college", _("学院")
    GRADE = "grade", _("年级")
    CLASS = "class", _("班级")
    DORM_BUILDING = "dorm_building", _("宿舍楼")
    DORM_ROOM = "dorm_room", _("宿舍")
    POLICE_BUREAU = "police_bureau", _("公安局")
    POLICE_DEPARTMENT = "police_department", _("警种部门")
    POLICE_STATION = "police_station", _("派出所")
    BANK_HEAD = "bank_head", _("银行总行")
    BANK_BRANCH = "bank_branch", _("支行")
    BANK_OUTLET = "bank_outlet", _("网点")
    COMMUNITY = "community", _("社区")
    VILLAGE = "village", _("村")
    ENTERPRISE = "enterprise", _("企业")
    MARKET = "market", _("市场")
    OTHER = "other", _("其他")


# Where people live rather than units that answer for work or cases: statistics list them only when
# something was recorded there (a dormitory building with no case is not a unit with 0 cases).
RESIDENCE_KINDS = frozenset({UnitKind.DORM_BUILDING, UnitKind.DORM_ROOM})


class Unit(MP_Node):
    """A node of the organisation grid: a bureau, school, college, class, dormitory room, station …"""

    steplen = 4
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    node_order_by: list[str] = []

    name = models.CharField(_("名称"), max_length=120)
    code = models.CharField(_("代码"), max_length=40)
    kind = models.CharField(_("类型"), max_length=24, choices=UnitKind.choices)
    # treebeard's path, declared again without ``unique=True`` so that its indexes are named in Meta
    # (operators and the EXPLAIN test can see which one a query uses).
    path = models.CharField(max_length=255)
    # The parent's path, kept in step by actions so that "code unique among siblings"
    # is a database constraint and not a check-then-create race. Every read is an equality (the
    # children of a unit), which the leading column of that constraint's index serves.
    parent_path = models.CharField(max_length=255, default="", editable=False)
    initials = models.CharField(_("拼音首字母"), max_length=120, blank=True, db_index=True)
    pinyin = models.CharField(_("拼音"), max_length=400, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        constraints = [
            # Equality, ranges and ORDER BY path (treebeard's sibling and descendant queries).
            models.UniqueConstraint(fields=["path"], name="unit_path_unique"),
            models.UniqueConstraint(fields=["parent_path", "code"], name="unit_code_unique_among_siblings"),
        ]
        indexes = [
            # Subtrees: ``path LIKE 'prefix%'``. PostgreSQL uses a plain btree for LIKE only under the
            # C collation; this operator class works under any (on SQLite it is an ordinary index).
            models.Index(fields=["path"], name="unit_path_prefix", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def root_path(self) -> str:
        return self.path[: self.steplen]

    def subtree_q(self, prefix: str = "") -> Q:
        """Q object matching this unit and everything below it (on ``<prefix>path``)."""
        return Q(**{f"{prefix}path__startswith": self.path})


class UnitEvent(models.Model):
    """Append-only history of a unit: created, renamed, recoded, moved, deactivated."""

    class Kind(models.TextChoices):
        CREATED = "created", _("创建")
        RENAMED = "renamed", _("更名")
        RECODED = "recoded", _("改代码")
        MOVED = "moved", _("移动")
        DEACTIVATED = "deactivated", _("停用")
        REACTIVATED = "reactivated", _("启用")
        ASSIGNED = "assigned", _("划入辖区")
        UNASSIGNED = "unassigned", _("移出辖区")

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("事件"), max_length=16, choices=Kind.choices)
    old = models.CharField(_("原值"), max_length=255, blank=True)
    new = models.CharField(_("新值"), max_length=255, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("单位变更记录")
        verbose_name_plural = _("单位变更记录")

    def __str__(self) -> str:
        return f"{self.unit_id} {self.kind}"


# Jurisdiction (辖区) -------------------------------------------------------------------------------------

# The places a police station and a bank outlet look after (their subtree comes with them).
JURISDICTION_KINDS = frozenset(
    {
        UnitKind.SCHOOL,
        UnitKind.KINDERGARTEN,
        UnitKind.COMMUNITY,
        UnitKind.VILLAGE,
        UnitKind.ENTERPRISE,
        UnitKind.MARKET,
    }
)


class JurisdictionSide(models.TextChoices):
    POLICE = "police", _("派出所")
    BANK = "bank", _("银行网点")


# The kind of unit each side's authority must be.
AUTHORITY_KIND = {
    JurisdictionSide.POLICE: UnitKind.POLICE_STATION,
    JurisdictionSide.BANK: UnitKind.BANK_OUTLET,
}


class Jurisdiction(models.Model):
    """A unit (and its subtree) lying in the area of a police station or of a bank outlet.

    Why a row and not a tree move: a school stays under its education bureau (its roster, its
    plans), while the station that polices its area counts and answers its cases (``org.scope``).
    At most one station and one outlet per unit.
    """

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="jurisdictions")
    side = models.CharField(_("类别"), max_length=8, choices=JurisdictionSide.choices)
    authority = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="jurisdiction_of", verbose_name=_("所属辖区单位")
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("辖区")
        verbose_name_plural = _("辖区")
        constraints = [models.UniqueConstraint(fields=["unit", "side"], name="jurisdiction_one_per_side")]

    def __str__(self) -> str:
        return f"{self.unit_id}:{self.side}@{self.authority_id}"


class PersonKind(models.TextChoices):
    STUDENT = "student", _("学生")
    TEACHER = "teacher", _("教师")
    STAFF = "staff", _("职工")
    PARENT = "parent", _("家长")
    POLICE = "police", _("民警")
    BANK_STAFF = "bank_staff", _("银行职员")
    RESIDENT = "resident", _("居民")
    VOLUNTEER = "volunteer", _("志愿者")


class Gender(models.TextChoices):
    MALE = "m", _("男")
    FEMALE = "f", _("女")
    UNKNOWN = "", _("未填")


_SESSION_HASH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"


class User(AbstractUser):
    """A login. Staff sign in with their external number or phone; see ``auth.NumberOrPhoneBackend``.

    Accounts are made, invited, deactivated and reset in the product (``org.accounts``), never by
    typing a password for someone else.
    """

    # Set by a reset or a temporary password: every page leads to "choose a new password" until done
    # (``org.accounts.middleware``).
    must_change_password = models.BooleanField(_("须修改密码"), default=False)
    # Raised to end every session of the account at once (deactivation, an administrator's reset):
    # it is part of the hash that each session carries, so older sessions no longer match.
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("账号")
        verbose_name_plural = _("账号")

    def _session_hash(self, secret: str | bytes | None) -> str:
        from django.utils.crypto import salted_hmac

        # Generation 0 hashes exactly as Django does, so sessions from before this field stay valid.
        value = (
            self.password if not self.session_generation else f"{self.password}\x1f{self.session_generation}"
        )
        return salted_hmac(_SESSION_HASH_SALT, value, secret=secret, algorithm="sha256").hexdigest()

    def get_session_auth_hash(self) -> str:
        return self._session_hash(None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret)


class Person(models.Model):
    """Someone the campaigns reach: a student, teacher, parent, officer, resident …"""

    root = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("所属组织"))
    name = models.CharField(_("姓名"), max_length=60)
    initials = models.CharField(_("拼音首字母"), max_length=60, blank=True, db_index=True)
    kind = models.CharField(_("类别"), max_length=16, choices=PersonKind.choices)
    external_number = models.CharField(_("学号/工号"), max_length=40, blank=True)
    phone_enc = models.TextField(blank=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    id_number_enc = models.TextField(blank=True, editable=False)
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_masked = models.CharField(_("手机号"), max_length=20, blank=True, editable=False)
    id_number_masked = models.CharField(_("身份证号"), max_length=20, blank=True, editable=False)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True, default="")
    birth_year = models.PositiveSmallIntegerField(_("出生年份"), null=True, blank=True)
    enrolment_year = models.PositiveSmallIntegerField(_("入学年份"), null=True, blank=True)
    covered_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="covering",
        verbose_name=_("联系班委"),
    )
    user = models.OneToOneField(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="person")
    is_active = models.BooleanField(_("在册"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        constraints = [
            models.UniqueConstraint(
                fields=["root", "external_number"],
                condition=~Q(external_number=""),
                name="person_number_unique_in_root",
            ),
        ]
        indexes = [models.Index(fields=["root", "kind"])]

    def __str__(self) -> str:
        return self.name

    # Sensitive values: set through these so encryption, hash and mask stay in step.
    def set_phone(self, normalized: str) -> None:
        self.phone_enc, self.phone_hash, self.phone_masked = crypto.seal(normalized, mask_phone)

    def set_id_number(self, normalized: str) -> None:
        self.id_number_enc, self.id_number_hash, self.id_number_masked = crypto.seal(
            normalized, mask_id_number
        )

    @property
    def phone(self) -> str:
        """Plain phone number. Only ``actions.reveal_person`` and import comparisons may read it."""
        return crypto.decrypt(self.phone_enc)

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_number_enc)


class SignInCode(models.Model):
    """A member's personal sign-in code for the phone pages (class link, activity check-in).

    Why its own secret: everything else a member could prove themselves with (number, masked phone)
    is shown on staff pages, exports and API answers. The code is given once (on a page or a printed
    slip) and only a keyed hash of it is kept, salted per row: the code is never stored, logged or
    shown again. One row per person: issuing again replaces the hash, so the old code stops working;
    revoking deletes the row. Verbs: ``org.credentials.actions``.
    """

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, related_name="signin_code", verbose_name=_("人员")
    )
    salt = models.CharField(max_length=32, editable=False)
    code_hash = models.CharField(max_length=64, editable=False)
    issued_at = models.DateTimeField(_("发放时间"))
    issued_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("发放人")
    )
    expires_at = models.DateTimeField(_("有效期至"), null=True, blank=True)

    class Meta:
        verbose_name = _("登录码")
        verbose_name_plural = _("登录码")

    def __str__(self) -> str:
        return f"{self.person_id} {self.issued_at:%Y-%m-%d}"


class MembershipRole(models.TextChoices):
    MEMBER = "member", _("成员")
    MONITOR = "monitor", _("班长")
    COMMITTEE = "committee", _("班委")
    DORM_HEAD = "dorm_head", _("宿舍长")
    COUNSELLOR = "counsellor", _("辅导员")
    LIAISON = "liaison", _("联络员")
    LEADER = "leader", _("组长")
    DEPUTY = "deputy", _("副组长")
    VOLUNTEER = "volunteer", _("志愿者")


class Membership(models.Model):
    """A person's place in a unit, with a role; a student is in a class and a dormitory room at once."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("角色"), max_length=16, choices=MembershipRole.choices, default="member")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("成员关系")
        verbose_name_plural = _("成员关系")
        constraints = [
            models.UniqueConstraint(fields=["person", "unit", "role"], name="membership_unique"),
        ]
        indexes = [models.Index(fields=["unit", "role"])]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.unit_id}:{self.role}"


class Guardianship(models.Model):
    """A parent or other guardian of a student."""

    class Relation(models.TextChoices):
        FATHER = "father", _("父亲")
        MOTHER = "mother", _("母亲")
        GRANDPARENT = "grandparent", _("祖父母")
        OTHER = "other", _("其他")

    guardian = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="wards")
    student = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="guardians")
    relation = models.CharField(_("关系"), max_length=16, choices=Relation.choices, default="other")

    class Meta:
        verbose_name = _("监护关系")
        verbose_name_plural = _("监护关系")
        constraints = [
            models.UniqueConstraint(fields=["guardian", "student"], name="guardianship_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.guardian_id}→{self.student_id}"


class Role(models.TextChoices):
    """What an account does at the unit where it is granted; ``scope.ROLE_CAPS`` says what each allows.

    Labels are the neutral names; ``org.names.role_label`` names a role as the unit's level says it
    (a counsellor at a primary-school class is its 班主任).
    """

    BUREAU_ADMIN = "bureau_admin", _("教育局管理员")
    SCHOOL_ADMIN = "school_admin", _("学校管理员")
    COLLEGE_ADMIN = "college_admin", _("学院管理员")
    COUNSELLOR = "counsellor", _("辅导员")
    CLASS_TEACHER = "class_teacher", _("班主任")
    DORM_MANAGER = "dorm_manager", _("楼长（宿舍管理员）")
    POLICE_LIAISON = "police_liaison", _("警务联络员")
    POLICE_ADMIN = "police_admin", _("反诈中心管理员")
    POLICE_OFFICER = "police_officer", _("派出所民警")
    BANK_ADMIN = "bank_admin", _("银行管理员")
    BANK_BRANCH_MANAGER = "branch_manager", _("支行负责人")
    BANK_OUTLET_MANAGER = "outlet_manager", _("网点负责人")
    AUDITOR = "auditor", _("只读审计员")
    SECURITY_OFFICER = "security_officer", _("保卫处（安全办）")
    PSYCHOLOGIST = "psychologist", _("心理咨询师")


class RoleGrant(models.Model):
    """A role granted to an account at a unit; it covers the unit's whole subtree."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="grants")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("授权")
        verbose_name_plural = _("授权")
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="grant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}@{self.unit_id}"


class AccountToken(models.Model):
    """A single-use secret that lets a person set their own password: an invitation to a new account,
    a reset link from an administrator, or a code sent after "忘记密码".

    Why a row and only a hash: the secret travels by SMS or e-mail and is shown nowhere else; a keyed
    hash (``core.crypto``) is all that is kept, so a copy of the database lets nobody in. A row is used
    once (``used_at``), expires, and is voided when a newer one of the same purpose is sent. Verbs:
    ``org.accounts.actions``.
    """

    class Purpose(models.TextChoices):
        INVITE = "invite", _("账号邀请")
        RESET = "reset", _("重置密码链接")
        CODE = "code", _("找回密码验证码")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_tokens")
    purpose = models.CharField(_("用途"), max_length=8, choices=Purpose.choices)
    # a link's keyed hash (64 hex), or a code's "salt$hash" (16 + 1 + 64): PostgreSQL enforces the length
    secret_hash = models.CharField(max_length=100, db_index=True, editable=False)
    created_at = models.DateTimeField(_("发送时间"))
    expires_at = models.DateTimeField(_("有效期至"))
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("发送人")
    )
    failures = models.PositiveSmallIntegerField(default=0)  # wrong codes typed against it
    # The messages that carried it: [[kind, outbox key, masked address], …], for the page to show
    # where each stands ("已发送", "未发送：未配置短信网关").
    letters = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("账号邀请与重置")
        verbose_name_plural = _("账号邀请与重置")
        indexes = [models.Index(fields=["user", "purpose", "-created_at"], name="org_accounttoken_user")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.purpose} {self.created_at:%Y-%m-%d %H:%M}"

    def is_open(self, now: datetime) -> bool:
        """Neither used, voided nor expired."""
        return self.used_at is None and self.voided_at is None and self.expires_at > now


class AccountBatch(models.Model):
    """Accounts opened for the staff of a subtree at once, with progress for the page to poll.

    Why a row: a school's hundreds of staff are done by a background task (``org.accounts.tasks``), and
    the page that started it follows it here. The id is a random UUID, so its URL cannot be guessed.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("处理中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+", verbose_name=_("单位"))
    actor = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", verbose_name=_("操作人"))
    site = models.CharField(max_length=200, blank=True)  # the address the invitation links start with
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("批量开通账号")
        verbose_name_plural = _("批量开通账号")

    def __str__(self) -> str:
        return f"{self.unit_id} {self.status}"

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.done / self.total)) if self.total else 0


ROSTER_UPLOADS = "roster-imports/"  # the media folder of roster uploads: private, short-lived, not backed up


class ImportJob(models.Model):
    """A roster upload on its way through check (dry run) and commit, with progress for the page to poll.

    The id is a random UUID, so a job's URL cannot be guessed. The uploaded file holds ID and phone
    numbers: it is created 0600 in a 0700 folder (``PrivateStorage``), deleted once the job is
    committed or found to have problems, and after a day whatever happened (``roster.jobs``), and
    left out of backups (``OrgConfig.ready``).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        CHECKING = "checking", _("检查中")
        ENCODING = "encoding", _("待选择编码")
        CHECKED = "checked", _("检查通过，待确认")
        INVALID = "invalid", _("有问题，未导入")
        COMMITTING = "committing", _("导入中")
        DONE = "done", _("已导入")
        FAILED = "failed", _("失败")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", verbose_name=_("上传人"))
    root = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+", verbose_name=_("导入到"))
    file = models.FileField(
        _("文件"), upload_to=ROSTER_UPLOADS + "%Y/%m/", storage=PrivateStorage(), blank=True
    )
    filename = models.CharField(_("文件名"), max_length=255)
    encoding = models.CharField(_("编码"), max_length=16, blank=True)  # a CSV's, when the uploader chose it
    size = models.PositiveBigIntegerField(_("大小"), default=0)
    create_units = models.BooleanField(_("自动创建班级和宿舍"), default=False)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(_("阶段"), max_length=16, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    problems = models.JSONField(_("问题"), default=list, blank=True)  # [[row, column, message], …]
    problem_count = models.PositiveIntegerField(default=0)
    summary = models.JSONField(_("结果"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("花名册导入")
        verbose_name_plural = _("花名册导入")

    def __str__(self) -> str:
        return f"{self.filename} {self.status}"

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.CHECKING, self.Status.COMMITTING}

    @property
    def percent(self) -> int:
        """Progress of the current stage, 0–100 (reading and checking rows is most of the work)."""
        if not self.total:
            return 0
        return min(100, int(100 * self.done / self.total))
