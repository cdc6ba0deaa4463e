"""Every write to accounts, as verbs: open an account and invite its person, re-send the invitation,
deactivate and reactivate, reset a password (by an administrator, or by oneself with a code), issue
a temporary password, set one's own password, grant and revoke roles. Each is atomic and audited.

Why this way: a staff account used to be made in the Django admin by a superuser who typed a
password for someone else. Now an administrator in scope opens it from the person's page and the
person chooses their own password from a link that travels by SMS or e-mail, is used once and
expires (``FANZHA_INVITATION_HOURS``). Only a keyed hash of a link or code is stored
(``AccountToken``); the messages go through the outbox (``core.hooks.postman``, registered by
``notify``), so an SMS without a gateway says "未发送：未配置短信网关" on the page that sent it.

Who may do what is decided in ``queries`` (the granting rule); the verbs check it again, so a
command or a task can call them as safely as a page.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fanzha.core import crypto, hooks, ratelimit
from fanzha.core.identifiers import mask_phone
from fanzha.core.models import AuditRecord

from .. import scope
from ..auth import candidate_users
from ..lockout import normalised_login
from ..models import AccountBatch, AccountToken, Person, RoleGrant, Unit, User
from ..scope import Cap
from . import queries

CODE_TTL = timedelta(minutes=15)
CODE_LENGTH = 6
CODE_MAX_FAILURES = 5  # wrong codes against one code before it is voided
TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # nothing to confuse
TEMPORARY_LENGTH = 12

# "忘记密码": codes sent per typed login and per address, codes typed per address.
FORGOT_LOGIN_LIMIT = ratelimit.Limit("password-forgot-login", 3, 3600)
FORGOT_ADDRESS_LIMIT = ratelimit.Limit("password-forgot-address", 10, 3600)
CODE_ADDRESS_LIMIT = ratelimit.Limit("password-code-address", 10, 900)


def invitation_lifetime() -> timedelta:
    return timedelta(hours=settings.FANZHA_INVITATION_HOURS)


def _audit(actor: User, action: str, user: User, detail: str = "") -> None:
    AuditRecord.objects.create(
        actor=actor, action=action, object_type="user", object_id=str(user.pk), detail=detail[:200]
    )


def _hash(secret: str) -> str:
    return crypto.keyed_hash("account-token:" + secret)


def _code_hash(user_pk: int, token_salt: str, code: str) -> str:
    return crypto.keyed_hash(f"account-code:{user_pk}:{token_salt}:{code}")


def _void_open(user: User, now: datetime, purposes: Iterable[str] | None = None) -> int:
    """Void every open link and code of ``user`` (of ``purposes``, or all)."""
    rows = AccountToken.objects.filter(user=user, used_at__isnull=True, voided_at__isnull=True)
    if purposes is not None:
        rows = rows.filter(purpose__in=list(purposes))
    return rows.update(voided_at=now)


def _end_sign_ins(user: User) -> None:
    """End every session of ``user`` (their hash no longer matches) and every API token (``api``)."""
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    hooks.sign_ins_ended(user)


def _refuse_unless_manages(actor: User, user: User) -> None:
    if not queries.may_manage(actor, user):
        raise PermissionDenied(_("您没有权限管理该账号"))


def _refuse_self(actor: User, user: User, message: str) -> None:
    if actor.pk == user.pk:
        raise ValidationError(message, code="self")


# Letters ---------------------------------------------------------------------------------------


@dataclass
class Sent:
    """A link or code just sent: its row and the outbox keys of its letters (for ``send_now``)."""

    token: AccountToken
    keys: list[str] = field(default_factory=list)


def _link(site: str, name: str, secret: str) -> str:
    base = (site or settings.FANZHA_SITE_URL or "").rstrip("/")
    return f"{base}{reverse(name)}?t={secret}"


@dataclass(frozen=True)
class Sms:
    """What the phone gets: an SMS is an approved template (``notify.sms``), so its text is its own."""

    body: str
    template: str
    params: dict[str, str] = field(default_factory=dict)


def _set_password_sms() -> Sms:
    """An invitation's or an administrator's reset by SMS: a link fits no template's variable, so the
    SMS sends the person to "忘记密码", where this phone number gets a code to set the password with."""
    body = _(
        "【反诈工作平台】请设置您的账号密码：打开平台登录页，点“忘记密码”，输入本手机号，"
        "获取验证码后设置新密码；之后可用手机号登录。"
    )
    return Sms(body, "account")


def _letters(
    token: AccountToken, person: Person | None, user: User, subject: str, body: str, sms: Sms
) -> list[list[str]]:
    """Queue ``body`` to the account's e-mail and ``sms`` to the person's phone, whichever there are."""
    letters = []
    postman = hooks.postman()
    phone = person.phone if person is not None else ""
    if phone:
        key = f"otp:account:{token.purpose}:{token.pk}:sms"
        postman.queue(hooks.Letter("sms", phone, subject, sms.body, key, "", sms.template, sms.params))
        letters.append(["sms", key, mask_phone(phone)])
    if user.email:
        key = f"otp:account:{token.purpose}:{token.pk}:email"
        postman.queue(hooks.Letter("email", user.email, subject, body, key))
        letters.append(["email", key, _mask_email(user.email)])
    return letters


def _mask_email(address: str) -> str:
    name, _at, domain = address.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


def _person(user: User) -> Person | None:
    return Person.objects.filter(user=user).select_related("root").first()


def _check_email(email: str) -> str:
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ValidationError({"email": _("请填写有效的电子邮件地址")}) from exc
    return email


def _send_link(actor: User | None, user: User, purpose: str, site: str, now: datetime) -> Sent:
    """A new single-use link of ``purpose`` for ``user`` (earlier open ones voided), sent by SMS to
    the person's phone and by e-mail to the account's address."""
    person = _person(user)
    if not queries.channels(person, user):
        raise ValidationError(
            _("没有手机号，也没有电子邮件地址，无法发送：请先填写电子邮件地址，或发放临时密码。"),
            code="unreachable",
        )
    _void_open(user, now, [AccountToken.Purpose.INVITE, AccountToken.Purpose.RESET])
    secret = secrets.token_urlsafe(32)
    token = AccountToken.objects.create(
        user=user,
        purpose=purpose,
        secret_hash=_hash(secret),
        created_at=now,
        expires_at=now + invitation_lifetime(),
        created_by=actor,
    )
    hours = settings.FANZHA_INVITATION_HOURS
    with translation.override(settings.LANGUAGE_CODE):
        if purpose == AccountToken.Purpose.INVITE:
            org = person.root.name if person is not None else ""
            subject = _("【反诈工作平台】账号开通邀请")
            body = _(
                "%(name)s，您好：%(org)s为您开通了反诈工作平台账号，登录名 %(login)s（也可用手机号登录）。"
                "请在 %(hours)s 小时内打开下面的链接，自己设置密码；链接只能使用一次。%(link)s"
            ) % {
                "name": user.first_name,
                "org": org,
                "login": queries.login_name(user),
                "hours": hours,
                "link": _link(site, "account_welcome", secret),
            }
        else:
            subject = _("【反诈工作平台】重置密码")
            body = _(
                "%(name)s，您好：管理员重置了您在反诈工作平台的密码，原密码已不能使用。"
                "请在 %(hours)s 小时内打开下面的链接设置新密码；链接只能使用一次。"
                "如有疑问，请联系本单位管理员。%(link)s"
            ) % {"name": user.first_name, "hours": hours, "link": _link(site, "account_reset_link", secret)}
        sms = _set_password_sms()  # the link goes by e-mail only
    token.letters = _letters(token, person, user, subject, body, sms)
    token.save(update_fields=["letters"])
    return Sent(token, [key for _kind, key, _to in token.letters])


# Opening an account ----------------------------------------------------------------------------


def _username(person: Person) -> str:
    base = f"{person.root.code}:{person.external_number or person.pk}"[:140]
    name, n = base, 1
    while User.objects.filter(username=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


@dataclass
class Opened:
    """An account just opened: the invitation sent, or the temporary password (shown once)."""

    user: User
    sent: Sent | None = None
    temporary: str = ""


@transaction.atomic
def open_account(
    actor: User,
    person: Person,
    *,
    email: str = "",
    site: str = "",
    temporary: bool = False,
    now: datetime | None = None,
) -> Opened:
    """Open a staff account for ``person`` and invite them: no password is set by anyone but them.

    ``email`` becomes the account's address (the person record holds no e-mail); the invitation goes
    by SMS to the person's phone and by e-mail, whichever there are. ``temporary``: no invitation; a
    random password is returned once, to be handed over, and must be changed at the first sign-in.
    """
    now = now or timezone.now()
    if not queries.person_in_grant_scope(actor, person):
        raise PermissionDenied(_("您没有权限为该人员开通账号"))
    person = Person.objects.select_for_update().select_related("root").get(pk=person.pk)
    if person.user_id:
        raise ValidationError(_("%(name)s 已有账号。") % {"name": person.name}, code="exists")
    if not queries.is_staff_kind(person):
        raise ValidationError(
            _("学生和家长在班级链接上用登录码或短信验证码登录，不开通员工账号。"), code="member"
        )
    if not person.is_active:
        raise ValidationError(_("%(name)s 不在册，不能开通账号。") % {"name": person.name}, code="inactive")
    email = _check_email(email)
    if not temporary and not queries.channels(person, None, email):
        raise ValidationError(
            {
                "email": _("%(name)s 没有登记手机号，请填写电子邮件地址以发送邀请，或选择发放临时密码。")
                % {"name": person.name}
            },
            code="unreachable",
        )
    user = User(username=_username(person), first_name=person.name[:150], email=email)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # the same name taken at the same moment
        raise ValidationError(_("账号名冲突，请重试。"), code="clash") from exc
    Person.objects.filter(pk=person.pk).update(user=user)
    person.user = user
    _audit(actor, AuditRecord.Action.ACCOUNT_CREATE, user, f"person:{person.pk}")
    if temporary:
        return Opened(user, temporary=_temporary(actor, user, now))
    sent = _send_link(actor, user, AccountToken.Purpose.INVITE, site, now)
    _audit(actor, AuditRecord.Action.INVITE, user, ",".join(kind for kind, _k, _t in sent.token.letters))
    return Opened(user, sent=sent)


@transaction.atomic
def send_invitation(
    actor: User, user: User, *, email: str | None = None, site: str = "", now: datetime | None = None
) -> Sent:
    """Send the invitation again (the previous link stops working), to a new e-mail address if given.

    Only for an account whose person has not set a password yet: afterwards it is a reset."""
    now = now or timezone.now()
    _refuse_unless_manages(actor, user)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.has_usable_password():
        raise ValidationError(_("该账号已设置密码，请改用“重置密码”。"), code="has_password")
    if not user.is_active:
        raise ValidationError(_("账号已停用，请先启用。"), code="inactive")
    if email is not None:
        user.email = _check_email(email)
        user.save(update_fields=["email"])
    sent = _send_link(actor, user, AccountToken.Purpose.INVITE, site, now)
    _audit(actor, AuditRecord.Action.INVITE, user, ",".join(kind for kind, _k, _t in sent.token.letters))
    return sent


def send_now(keys: Iterable[str]) -> None:
    """Send the letters with these keys at once (after the verb that queued them has committed), so
    that the page shows where they stand; a failure is retried by the worker as usual."""
    keys = list(keys)
    if keys:
        hooks.postman().send_now(keys)


# Setting a password from a link ----------------------------------------------------------------


def link_hash(secret: str) -> str:
    """The stored hash of a link's secret (the page keeps only this in the session)."""
    return _hash((secret or "").strip())


@transaction.atomic
def accept_link(token: AccountToken, password: str, now: datetime | None = None) -> User:
    """Set the password that the person chose on an invitation or reset link; the link is used up.

    Raises ``ValidationError`` for a weak password (Django's validators: the link stays usable) and
    for a link that is no longer open (used, voided, expired, or the account deactivated)."""
    now = now or timezone.now()
    token = AccountToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    user = token.user
    if not token.is_open(now) or not user.is_active:
        raise ValidationError(_("链接已失效。"), code="closed")
    validate_password(password, user)
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    token.used_at = now
    token.save(update_fields=["used_at"])
    _void_open(user, now)
    _audit(user, AuditRecord.Action.PASSWORD_SET, user, token.purpose)
    return user


@transaction.atomic
def change_password(user: User, password: str) -> User:
    """Set a new password the signed-in user chose (the old one checked by the form); ends the
    demand to change it. The caller keeps the current session (``update_session_auth_hash``)."""
    validate_password(password, user)
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    _void_open(user, timezone.now(), [AccountToken.Purpose.CODE])
    _audit(user, AuditRecord.Action.PASSWORD_SET, user, "change")
    return user


# Deactivate, reactivate, reset -----------------------------------------------------------------


@transaction.atomic
def deactivate(actor: User, user: User, now: datetime | None = None) -> bool:
    """Stop ``user`` signing in: their sessions end, their API tokens are revoked, open links and
    codes are voided. Grants, person and history stay. False when it already was inactive."""
    _refuse_unless_manages(actor, user)
    _refuse_self(actor, user, _("不能停用您自己的账号。"))
    changed = User.objects.filter(pk=user.pk, is_active=True).update(is_active=False)
    user.is_active = False
    if not changed:
        return False
    _void_open(user, now or timezone.now())
    _end_sign_ins(user)
    _audit(actor, AuditRecord.Action.DEACTIVATE, user)
    return True


@transaction.atomic
def reactivate(actor: User, user: User) -> bool:
    """Let ``user`` sign in again, with the grants they had; False when it already was active."""
    _refuse_unless_manages(actor, user)
    changed = User.objects.filter(pk=user.pk, is_active=False).update(is_active=True)
    user.is_active = True
    if changed:
        _audit(actor, AuditRecord.Action.REACTIVATE, user)
    return bool(changed)


@transaction.atomic
def reset_password(actor: User, user: User, *, site: str = "", now: datetime | None = None) -> Sent:
    """An administrator's reset: the old password stops working at once, every session and API token
    of the account ends, and a single-use link to choose a new one goes by SMS and e-mail."""
    now = now or timezone.now()
    _refuse_unless_manages(actor, user)
    _refuse_self(actor, user, _("不能重置自己的密码，请在“修改密码”中修改。"))
    if not user.is_active:
        raise ValidationError(_("账号已停用，请先启用。"), code="inactive")
    sent = _send_link(actor, user, AccountToken.Purpose.RESET, site, now)  # refuses before any change
    user.set_unusable_password()
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    _end_sign_ins(user)
    _audit(actor, AuditRecord.Action.PASSWORD_RESET, user, ",".join(k for k, _key, _t in sent.token.letters))
    return sent


def _temporary(actor: User, user: User, now: datetime) -> str:
    password = "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_LENGTH))
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    _void_open(user, now)
    _end_sign_ins(user)
    _audit(actor, AuditRecord.Action.TEMP_PASSWORD, user)
    return password


@transaction.atomic
def issue_temporary_password(actor: User, user: User, now: datetime | None = None) -> str:
    """A random password for an administrator to hand over in person (no phone, no e-mail, no SMS
    gateway): returned once, never stored in clear; the person must choose their own at the first
    sign-in. The old password, sessions, tokens and links end."""
    _refuse_unless_manages(actor, user)
    _refuse_self(actor, user, _("不能给自己发放临时密码。"))
    if not user.is_active:
        raise ValidationError(_("账号已停用，请先启用。"), code="inactive")
    return _temporary(actor, user, now or timezone.now())


# "忘记密码": a code by SMS or e-mail ---------------------------------------------------------------


def forgot_buckets(login: str, address: str) -> list[ratelimit.Bucket]:
    """The counters of one "send me a code": the typed login (however spelled) and the address."""
    return [FORGOT_LOGIN_LIMIT.bucket(normalised_login(login)), FORGOT_ADDRESS_LIMIT.bucket(address)]


def request_reset_code(login: str, now: datetime | None = None) -> tuple[list[int], list[str]]:
    """Send a 6-digit code, valid 15 minutes, to every active account that ``login`` names and that
    has a phone or e-mail; returns the accounts' ids (for the session, never shown) and the outbox
    keys. Says nothing about whether any account exists: the caller shows the same page either way.
    Rate limits are the caller's (``forgot_buckets``), counted before this is called."""
    now = now or timezone.now()
    pks: list[int] = []
    keys: list[str] = []
    for user in candidate_users(login):
        sent = _send_code(user, now)
        if sent is not None:
            pks.append(user.pk)
            keys += sent.keys
    return pks, keys


@transaction.atomic
def _send_code(user: User, now: datetime) -> Sent | None:
    person = _person(user)
    if not queries.channels(person, user):
        return None
    _void_open(user, now, [AccountToken.Purpose.CODE])
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    salt = secrets.token_hex(8)
    token = AccountToken.objects.create(
        user=user,
        purpose=AccountToken.Purpose.CODE,
        secret_hash=f"{salt}${_code_hash(user.pk, salt, code)}",
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    minutes = int(CODE_TTL.total_seconds() // 60)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("【反诈工作平台】找回密码验证码")
        body = _(
            "您正在找回反诈工作平台的密码，验证码 %(code)s，%(minutes)s 分钟内有效。"
            "如不是您本人操作，请忽略本消息；不要把验证码告诉任何人。"
        ) % {"code": code, "minutes": minutes}
    sms = Sms(body, "code", {"code": code, "minutes": str(minutes)})
    token.letters = _letters(token, person, user, subject, body, sms)
    token.save(update_fields=["letters"])
    return Sent(token, [key for _kind, key, _to in token.letters])


def _code_matches(token: AccountToken, code: str) -> bool:
    salt, _sep, digest = token.secret_hash.partition("$")
    return hmac.compare_digest(digest, _code_hash(token.user_id, salt, code))


def check_reset_code(user_pks: Iterable[int], code: str, now: datetime | None = None) -> AccountToken | None:
    """The open code row, among those of ``user_pks``, that ``code`` matches; a miss counts against
    every one of them (five misses void a code). Not atomic on purpose: the miss must stay counted."""
    now = now or timezone.now()
    typed = "".join(ch for ch in (code or "") if ch.isdigit())
    rows = list(
        AccountToken.objects.filter(
            user_id__in=list(user_pks),
            user__is_active=True,
            purpose=AccountToken.Purpose.CODE,
            used_at__isnull=True,
            voided_at__isnull=True,
            expires_at__gt=now,
        ).select_related("user")
    )
    for row in rows:
        if len(typed) == CODE_LENGTH and _code_matches(row, typed):
            return row
    for row in rows:
        AccountToken.objects.filter(pk=row.pk).update(failures=F("failures") + 1)
        if row.failures + 1 >= CODE_MAX_FAILURES:
            AccountToken.objects.filter(pk=row.pk).update(voided_at=now)
    if not rows:
        _code_hash(0, "-", typed)  # the same work whether or not there was a code
    return None


@transaction.atomic
def reset_with_code(token: AccountToken, password: str, now: datetime | None = None) -> User:
    """Set the password chosen after "忘记密码" with a matching code; the code is used up, every other
    session of the account ends. A weak password raises ``ValidationError`` and keeps the code."""
    now = now or timezone.now()
    token = AccountToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    user = token.user
    if not token.is_open(now) or not user.is_active:
        raise ValidationError(_("验证码已失效，请重新获取。"), code="closed")
    validate_password(password, user)
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    token.used_at = now
    token.save(update_fields=["used_at"])
    _void_open(user, now)
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    _audit(user, AuditRecord.Action.PASSWORD_SET, user, "code")
    return user


# Roles -----------------------------------------------------------------------------------------


@transaction.atomic
def grant(actor: User, user: User, unit: Unit, role: str) -> RoleGrant:
    """Grant ``role`` at ``unit`` (covering its subtree) to ``user``, by the rule in ``queries``."""
    if not queries.may_grant(actor, unit, role):
        raise PermissionDenied(_("您不能在该单位授予这个角色"))
    _refuse_self(actor, user, _("不能给自己授权，请联系上级管理员。"))
    _refuse_unless_manages(actor, user)
    if not user.is_active:
        raise ValidationError(_("账号已停用，请先启用。"), code="inactive")
    row, created = RoleGrant.objects.get_or_create(
        user=user, unit=unit, role=role, defaults={"granted_by": actor}
    )
    if not created:
        raise ValidationError(_("该账号在本单位已有这个角色。"), code="exists")
    _audit(actor, AuditRecord.Action.GRANT, user, f"{role}@{unit.pk}")
    user.__dict__.pop("_fanzha_scope", None)
    return row


@transaction.atomic
def revoke(actor: User, grant: RoleGrant) -> None:
    """Withdraw ``grant``, by the same rule as granting it. Your own last grant that lets you grant
    is refused: you would lock yourself out of managing anyone (ask another administrator)."""
    grant = RoleGrant.objects.select_for_update().select_related("unit", "user").get(pk=grant.pk)
    if not (queries.may_grant(actor, grant.unit, grant.role) and queries.may_manage(actor, grant.user)):
        raise PermissionDenied(_("您不能撤销这个授权"))
    if grant.user_id == actor.pk and not actor.is_superuser and queries.last_admin_grant(actor, grant):
        raise ValidationError(
            _("这是您最后一个管理授权，撤销后您将无法再管理账号和授权。请由其他管理员撤销。"),
            code="last_admin",
        )
    detail = f"{grant.role}@{grant.unit_id}"
    user = grant.user
    grant.delete()
    _audit(actor, AuditRecord.Action.REVOKE, user, detail)
    user.__dict__.pop("_fanzha_scope", None)
    actor.__dict__.pop("_fanzha_scope", None)


# Bulk ------------------------------------------------------------------------------------------

Progress = Callable[[int, int], None]


def open_accounts(
    actor: User | None,
    people: Iterable[Person],
    *,
    site: str = "",
    progress: Progress | None = None,
) -> dict[str, int]:
    """Open and invite accounts for many people (the staff of a subtree, a roster's "开通账号" rows).

    Each person in their own transaction, so that one refusal does not undo the others and the
    progress is real. Counts: ``created``, ``existing`` (had one), ``unreachable`` (no phone: opened
    nowhere), ``refused`` (not staff, not in the actor's scope, no actor, not on the register)."""
    counts = {"created": 0, "existing": 0, "unreachable": 0, "refused": 0}
    people = list(people)
    for done, person in enumerate(people, start=1):
        if person.user_id:
            counts["existing"] += 1
        elif actor is None or not queries.is_staff_kind(person) or not person.is_active:
            counts["refused"] += 1
        elif not person.phone_enc:
            counts["unreachable"] += 1
        else:
            try:
                open_account(actor, person, site=site)
            except PermissionDenied:
                counts["refused"] += 1
            except ValidationError as exc:
                counts["existing" if exc.code == "exists" else "refused"] += 1
            else:
                counts["created"] += 1
        if progress is not None:
            progress(done, len(people))
    return counts


def start_batch(actor: User, unit: Unit, site: str = "") -> AccountBatch:
    """Record a bulk opening for the staff of ``unit``'s subtree; ``tasks.start_batch`` runs it."""
    if not scope.in_scope(actor, unit, Cap.GRANT):
        raise PermissionDenied(_("您没有权限为该单位开通账号"))
    total = queries.staff_of(actor, unit).filter(user__isnull=True).exclude(phone_enc="").count()
    return AccountBatch.objects.create(unit=unit, actor=actor, site=site[:200], total=total)


def run_batch(batch_id: Any) -> str:
    """Open the accounts of a recorded batch, keeping its progress and counts on its row; a batch
    already started does nothing (a task run twice). Returns the final status."""
    claimed = AccountBatch.objects.filter(pk=batch_id, status=AccountBatch.Status.QUEUED).update(
        status=AccountBatch.Status.RUNNING, updated_at=timezone.now()
    )
    batch = AccountBatch.objects.select_related("unit", "actor").filter(pk=batch_id).first()
    if batch is None:
        return "missing"
    if not claimed:
        return str(batch.status)
    people = list(queries.staff_of(batch.actor, batch.unit).filter(user__isnull=True).exclude(phone_enc=""))

    def progress(done: int, total: int) -> None:
        if done % 10 == 0 or done == total:
            AccountBatch.objects.filter(pk=batch.pk).update(done=done, total=total, updated_at=timezone.now())

    try:
        counts = open_accounts(batch.actor, people, site=batch.site, progress=progress)
    except Exception:
        AccountBatch.objects.filter(pk=batch.pk).update(status=AccountBatch.Status.FAILED)
        raise
    AccountBatch.objects.filter(pk=batch.pk).update(
        status=AccountBatch.Status.DONE, summary=counts, done=len(people), total=len(people)
    )
    return str(AccountBatch.Status.DONE)
