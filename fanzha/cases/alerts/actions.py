"""The emergency stop-payment alert (紧急止付): raise, escalate, acknowledge, record the outcome, end.

Why this shape: money moved by a fraud can still be stopped in the first hours, so the alert goes
out the moment a case is reported, to the police liaison and the security office nearest the
case's unit, over every channel they have, and to the staff and police chat groups of the units in
between (never a class or parents' group: the alert names the victim's class and loss); nobody
answering within ``settings.FANZHA_ALERT_ESCALATE_MINUTES`` sends it one level up, until the school
(or bureau) administrators hear it. A student's self-report also reaches the student's own
counsellor at once, and says it is not yet verified. Closing the case ends the alert. Messages are
outbox rows queued in the verb's transaction (idempotency keys make a second run a no-op) and,
after commit, delivered at once (``FANZHA_ALERT_DELIVERY``) instead of waiting for the
``deliver-outbox`` worker, which still retries whatever failed.

What a message carries: the case number, unit, fraud type, loss, the transfers (a few in full, more
summarised) with the payees' accounts, the suspect's numbers and accounts, the last transfer and the
stop-payment deadline. Never the victim's full name, phone, ID, family, funds or own accounts.
"""

from __future__ import annotations

import logging
import math
import statistics
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fanzha.core.formats import yuan
from fanzha.notify import actions as notify
from fanzha.notify.delivery import deliver_now
from fanzha.notify.models import ALERT_AUDIENCES, Channel, ChannelKind, Outbox
from fanzha.notify.sms import Template
from fanzha.org.models import Role, RoleGrant, Unit, User
from fanzha.org.scope import Cap, in_scope, stations_of

from ..events import record_event
from ..followup.actions import class_counsellor
from ..intake import parse_amount
from ..models import (
    Alert,
    AlertRecipient,
    Case,
    CaseEvent,
    CaseState,
    Indicator,
    ReportedVia,
    Side,
    Transfer,
)

log = logging.getLogger(__name__)

# Who answers an alert first (every level that has them, nearest first), and who hears it last.
RESPONDERS = (Role.POLICE_LIAISON, Role.POLICE_OFFICER, Role.POLICE_ADMIN, Role.SECURITY_OFFICER)
LAST_RESORT = (Role.SCHOOL_ADMIN, Role.BUREAU_ADMIN)
DELIVERY_MODES = ("thread", "sync", "off")
TIME_FORMAT = "%Y-%m-%d %H:%M"


# Contacts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """One level of contacts: the unit whose grants make it, and its users (active, nearest first)."""

    path: str
    users: list[User]


def _ancestor_paths(unit: Unit) -> list[str]:
    """The unit's path and every ancestor's, nearest first (materialized path: no query)."""
    step = unit.steplen
    return [unit.path[:end] for end in range(len(unit.path), 0, -step)]


def tiers_for(unit: Unit) -> list[Tier]:
    """The contact tiers of a unit, one query (the grants with their users and persons).

    Tier 0 is the police liaisons and security officers at the nearest unit (the case unit or an
    ancestor) that has any, tier 1 the next such ancestor up, and so on; the last tier is the school or
    bureau administrators nearest the unit, so that somebody always hears. A user appears only in the
    first tier they belong to; inactive users and grants on switched-off units are skipped.
    """
    paths = _ancestor_paths(unit)
    grants = (
        RoleGrant.objects.filter(
            unit__path__in=paths,
            unit__is_active=True,
            user__is_active=True,
            role__in=[*RESPONDERS, *LAST_RESORT],
        )
        .select_related("user__person", "unit")
        .order_by("pk")
    )
    responders: dict[str, list[User]] = {}
    admins: dict[str, list[User]] = {}
    for grant in grants:
        bucket = responders if grant.role in RESPONDERS else admins
        bucket.setdefault(grant.unit.path, []).append(grant.user)
    levels = [(p, responders[p]) for p in paths if p in responders]
    nearest_admin = next((p for p in paths if p in admins), None)
    if nearest_admin is not None:
        levels.append((nearest_admin, admins[nearest_admin]))
    tiers: list[Tier] = []
    seen: set[int] = set()
    for path, users in levels:
        fresh = []
        for user in users:
            if user.pk not in seen:
                seen.add(user.pk)
                fresh.append(user)
        if fresh:
            tiers.append(Tier(path, fresh))
    return tiers


def station_contacts(unit: Unit) -> list[Tier]:
    """The police of the stations whose jurisdiction covers ``unit`` (``org.scope.stations_of``): a
    school's case is the station's case too, so its responders hear it with the first tier."""
    stations = stations_of(unit)
    if not stations:
        return []
    grants = (
        RoleGrant.objects.filter(
            unit__in=stations, user__is_active=True, role__in=[Role.POLICE_OFFICER, Role.POLICE_LIAISON]
        )
        .select_related("user__person", "unit")
        .order_by("pk")
    )
    by_path: dict[str, list[User]] = {}
    for grant in grants:
        by_path.setdefault(grant.unit.path, []).append(grant.user)
    return [Tier(s.path, by_path.get(s.path, [])) for s in stations]


def contact_tiers(unit: Unit) -> list[list[User]]:
    """The users of each contact tier of ``unit`` (see ``tiers_for``), nearest first."""
    return [tier.users for tier in tiers_for(unit)]


# The message -----------------------------------------------------------------------------------------

# How much a chat message lists before it summarises: a robot text is read on a phone, and WeCom
# refuses a text over 2,048 bytes (markdown 4,096; DingTalk and Feishu allow more), answering 40058
# on every retry. ``ROBOT_TEXT_BYTES`` leaves room below WeCom's limit for a keyword the channel may
# add; the delivery layer cuts anything longer as a last resort, but an alert is fitted here, by
# what matters most, so that a cut never takes the deadline or the payees.
LISTED_TRANSFERS = 3  # more than this: count, total, the largest payees
TOP_PAYEES = 3
LISTED_SUSPECTS = 6
ROBOT_TEXT_BYTES = 2000
SHORT_CHARS = 300  # the SMS text (a long SMS is billed per 67 characters)
# Detail levels tried in turn until the text fits: (suspect lines, payees, characters per value).
_LEVELS = (
    (LISTED_SUSPECTS, TOP_PAYEES, 60),
    (3, TOP_PAYEES, 40),
    (0, TOP_PAYEES, 32),
    (0, 1, 24),
    (0, 0, 16),
)


def stop_payment_deadline(case: Case) -> datetime | None:
    """When the stop-payment window of the case's last transfer closes (None without transfers)."""
    if case.last_transfer_at is None:
        return None
    return case.last_transfer_at + timedelta(hours=settings.FANZHA_STOP_PAYMENT_WINDOW_HOURS)


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime(TIME_FORMAT) if moment else "—"


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def _bytes(text: str) -> int:
    return len(text.encode())


def unit_label(unit: Unit) -> str:
    """``示范大学 › 计算机学院 › 计科2301班``: where the case is, for a reader outside the school."""
    names = dict(Unit.objects.filter(path__in=_ancestor_paths(unit)).values_list("path", "name"))
    return " › ".join(names.get(p, "") for p in reversed(_ancestor_paths(unit)) if names.get(p))


def unverified(reported_via: str, state: str, edited: bool) -> bool:
    """The rule of ``is_unverified`` on values a list has already read (no query)."""
    return (
        reported_via == ReportedVia.SELF and state in (CaseState.REPORTED, CaseState.ALERTED) and not edited
    )


def is_unverified(case: Case) -> bool:
    """A self-report that nobody on the staff has vouched for yet: every alert message says so.

    Why: the student's sign-in is weak until personal codes and SMS sign-in come (item 1 of the
    security issue), so a self-report may be somebody else's doing; it still alerts at once (a real
    victim's minutes count), but the police read it as unverified. The rule: a case reported through
    the student's phone page (``ReportedVia.SELF``) is unverified until a staff member edits it (an
    ``EDITED`` event: only ``CASE_EDIT`` holders edit, after talking to the student) or the police
    move it past "alerted" (filed, investigating, closed). Acknowledging the alert verifies nothing:
    it says the police took the alert, not that the story was checked. Messages sent before the
    verification keep their mark; those sent after (escalations) carry none.
    """
    if case.reported_via != ReportedVia.SELF:
        return False
    edited = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.EDITED).exists()
    return unverified(case.reported_via, case.state, edited)


@dataclass(frozen=True)
class Message:
    subject: str
    body: str  # in-app and chat groups: fits a robot (``ROBOT_TEXT_BYTES`` with subject and link)
    short: str  # SMS, as our pages show it
    link: str
    full: str = ""  # e-mail: every transfer and every suspect line
    # SMS, as a gateway sends it: the approved alert template's parameters (no personal data: the case
    # number, the loss, the stop-payment deadline; the rest is on the alert page).
    sms_params: dict[str, str] | None = None


@dataclass(frozen=True)
class _Payee:
    account: str
    name: str
    amount: Decimal
    count: int


def _payees(transfers: Sequence[Transfer]) -> list[_Payee]:
    """The payee accounts by the money they received, largest first (ties: the earlier transfer)."""
    totals: dict[str, list[Any]] = {}
    for t in transfers:
        entry = totals.setdefault(t.to_account, [t.to_name, Decimal("0"), 0])
        entry[0] = entry[0] or t.to_name
        entry[1] += t.amount
        entry[2] += 1
    ranked = sorted(totals.items(), key=lambda item: -item[1][1])
    return [_Payee(account, name, amount, count) for account, (name, amount, count) in ranked]


class _Text:
    """The parts of one alert's text, translated once, put together at a level of detail."""

    def __init__(self, case: Case, alert: Alert, *, tier: int, again: bool, counsellor: bool) -> None:
        self.case = case
        self.transfers = list(Transfer.objects.filter(case=case).order_by("at", "pk"))
        self.suspects = list(Indicator.objects.filter(case=case, side=Side.SUSPECT).order_by("kind", "pk"))
        self.payees = _payees(self.transfers)
        self.deadline = stop_payment_deadline(case)
        self.where = unit_label(case.unit)
        self.unverified = is_unverified(case)
        self.link = reverse("alert_detail", args=[alert.pk])
        self.site_link = getattr(settings, "FANZHA_SITE_URL", "").rstrip("/") + self.link
        head: list[str] = []
        if self.unverified:
            head.append(_("注意：本案由学生本人通过手机报告，尚未经工作人员核实，请核实后处置。"))
        if counsellor:
            head.append(_("您是该生的辅导员：学生刚刚报告自己被骗，请立即联系学生，核实情况并做好安抚。"))
        if again:
            head.append(_("【再次提醒】该预警仍无人确认，请立即处置。"))
        elif tier > 0:
            head.append(
                _("【预警升级】上一级联系人%(minutes)d分钟内未确认，现通知您（第%(tier)d级）。")
                % {"minutes": settings.FANZHA_ALERT_ESCALATE_MINUTES, "tier": tier + 1}
            )
        self.head = head

    def subject(self, chars: int = 30) -> str:
        subject = _("【紧急止付预警】%(number)s %(unit)s 损失%(loss)s元") % {
            "number": self.case.number,
            "unit": _clip(self.case.unit.name, chars),
            "loss": yuan(self.case.total_loss),
        }
        return (_("【学生自报，待核实】") + subject) if self.unverified else subject

    def _transfer_line(self, i: int, t: Transfer, chars: int) -> str:
        return _("%(i)d. %(at)s %(amount)s元 %(method)s 收款账户：%(account)s 收款户名/银行：%(name)s") % {
            "i": i,
            "at": _when(t.at),
            "amount": yuan(t.amount),
            "method": t.get_method_display(),
            "account": _clip(t.to_account, chars) or "—",
            "name": _clip(t.to_name, chars) or "—",
        }

    def _suspect_line(self, ind: Indicator, chars: int) -> str:
        note = _("（%(note)s）") % {"note": _clip(ind.note, chars // 2)} if ind.note else ""
        return f"{ind.get_kind_display()}：{_clip(ind.value, chars)}{note}"

    def body(self, suspects: int | None, payees: int, chars: int) -> str:
        """The text at one level of detail; ``suspects`` None lists every transfer and suspect line
        unclipped (e-mail)."""
        case, transfers = self.case, self.transfers
        full = suspects is None
        lines = [
            *self.head,
            _("案件编号：%(v)s") % {"v": case.number},
            _("所属单位：%(v)s") % {"v": self.where if full else _clip(self.where, 2 * chars)},
            _("受害人：%(v)s") % {"v": case.victim_masked_name},
            _("诈骗类型：%(v)s") % {"v": case.get_fraud_type_display()},
            _("损失金额：%(v)s元") % {"v": yuan(case.total_loss)},
        ]
        width = 10_000 if full else chars
        if not transfers:
            lines.append(_("转账记录：未填写"))
        elif full or len(transfers) <= LISTED_TRANSFERS:
            lines.append(_("转账记录（%(n)d笔）：") % {"n": len(transfers)})
            lines += [self._transfer_line(i, t, width) for i, t in enumerate(transfers, start=1)]
        else:
            lines.append(
                _("转账记录：共%(n)d笔，合计%(total)s元，%(first)s至%(last)s")
                % {
                    "n": len(transfers),
                    "total": yuan(sum((t.amount for t in transfers), Decimal("0"))),
                    "first": _when(transfers[0].at),
                    "last": _when(transfers[-1].at),
                }
            )
            shown = self.payees[:payees]
            if shown:
                lines.append(_("收款金额最大的账户："))
            for i, p in enumerate(shown, start=1):
                lines.append(
                    _("%(i)d. %(account)s（%(name)s）%(amount)s元，%(count)d笔")
                    % {
                        "i": i,
                        "account": _clip(p.account, chars) or _("未填写收款账户"),
                        "name": _clip(p.name, chars) or "—",
                        "amount": yuan(p.amount),
                        "count": p.count,
                    }
                )
            rest = len(self.payees) - len(shown)
            lines.append(
                _("另有%(rest)d个收款账户。全部%(n)d笔转账见预警页面（本消息末尾的链接）。")
                % {"rest": rest, "n": len(transfers)}
                if rest
                else _("全部%(n)d笔转账见预警页面（本消息末尾的链接）。") % {"n": len(transfers)}
            )
        if self.suspects:
            listed = self.suspects if full else self.suspects[:suspects]
            if listed:
                lines.append(_("嫌疑人线索："))
                lines += [self._suspect_line(ind, width) for ind in listed]
            rest = len(self.suspects) - len(listed)
            if rest:
                lines.append(_("另有%(n)d条嫌疑人线索，见预警页面。") % {"n": rest})
        lines.append(_("最后转账时间：%(v)s") % {"v": _when(case.last_transfer_at)})
        if self.deadline is not None:
            lines.append(
                _("止付黄金时间截止：%(v)s（最后转账后%(h)d小时）")
                % {"v": _when(self.deadline), "h": settings.FANZHA_STOP_PAYMENT_WINDOW_HOURS}
            )
        lines.append(_("请立即联系银行或支付机构紧急止付，并在平台上确认接警。"))
        return "\n".join(lines)

    def sms_params(self) -> dict[str, str]:
        """The alert template's parameters, each short enough for any provider's variable (12 characters)."""
        deadline = timezone.localtime(self.deadline).strftime("%m-%d %H:%M") if self.deadline else _("尽快")
        return {"number": self.case.number, "loss": f"{self.case.total_loss:.2f}", "deadline": deadline}

    def short(self) -> str:
        accounts = [_clip(p.account, 40) for p in self.payees if p.account]
        listed = "、".join(accounts[:2]) or "—"
        if len(accounts) > 2:
            listed = _("%(listed)s等%(n)d个收款账户") % {"listed": listed, "n": len(accounts)}
        text = _(
            "案件%(number)s（%(unit)s）损失%(loss)s元，最后转账%(last)s，止付截止%(deadline)s。"
            "收款账户：%(accounts)s。请立即处置并在平台确认接警。"
        ) % {
            "number": self.case.number,
            "unit": _clip(self.case.unit.name, 20),
            "loss": yuan(self.case.total_loss),
            "last": _when(self.case.last_transfer_at),
            "deadline": _when(self.deadline),
            "accounts": listed,
        }
        if self.unverified:
            text = _("【学生自报，待核实】") + text
        return _clip(text, SHORT_CHARS)


def _fit(subject: str, body: str, link: str) -> bool:
    """Whether a robot's text (subject, body and link, one per line, as delivery joins them) fits."""
    return _bytes("\n".join([subject, body, link])) <= ROBOT_TEXT_BYTES


def _cut(text: str, limit: int) -> str:
    """The last resort: ``text`` cut to ``limit`` bytes at a line, then a character, with a pointer."""
    tail = "\n" + _("……（内容过长，完整内容见预警页面）")
    room = limit - _bytes(tail)
    if room <= 0:
        return ""
    kept: list[str] = []
    used = 0
    for line in text.split("\n"):
        size = _bytes(line) + (1 if kept else 0)
        if used + size > room:
            break
        kept.append(line)
        used += size
    cut = "\n".join(kept)
    return (cut or text.encode()[:room].decode(errors="ignore")) + tail


def alert_message(
    case: Case, alert: Alert, *, tier: int = 0, again: bool = False, counsellor: bool = False
) -> Message:
    """The alert's text, in the site's language (not the reporter's: the police read it).

    The chat and in-app text lists up to ``LISTED_TRANSFERS`` transfers; beyond that it summarises
    them (count, total, first and last time, the ``TOP_PAYEES`` accounts that received most) and
    points to the alert page for all of them. It is fitted to ``ROBOT_TEXT_BYTES`` together with the
    subject and the link: less detail first (fewer suspect lines, fewer payees, shorter values), a cut
    only as the last resort. E-mail (``full``) lists everything. ``counsellor`` adds the line for the
    student's counsellor (a self-report); a self-report not yet verified says so (``is_unverified``).
    """
    with translation.override(settings.LANGUAGE_CODE):
        text = _Text(case, alert, tier=tier, again=again, counsellor=counsellor)
        subject = text.subject()
        body = ""
        for suspects, payees, chars in _LEVELS:
            body = text.body(suspects, payees, chars)
            if _fit(subject, body, text.site_link):
                break
        else:
            subject = text.subject(chars=8)
            body = _cut(body, ROBOT_TEXT_BYTES - _bytes(subject) - _bytes(text.site_link) - 2)
        return Message(
            subject=subject,
            body=body,
            short=text.short(),
            link=text.link,
            full=text.body(None, 0, 0),
            sms_params=text.sms_params(),
        )


# Queueing --------------------------------------------------------------------------------------------


def _channels(paths: Sequence[str]) -> list[Channel]:
    """The active staff and police channels on ``paths``: never a class or parents' group, which would
    show the victim's class, loss and payees to classmates and their families (``ALERT_AUDIENCES``)."""
    return list(
        Channel.objects.filter(unit__path__in=list(paths), unit__is_active=True, is_active=True)
        .filter(kind__in=list(notify.CHANNEL_KINDS), audience__in=list(ALERT_AUDIENCES))
        .order_by("pk")
    )


def _phone(user: User) -> str:
    person = getattr(user, "person", None)  # reverse one-to-one: AttributeError when there is none
    return person.phone if person is not None and person.phone_enc else ""


def _queue_all(
    alert: Alert,
    case: Case,
    message: Message,
    *,
    label: str,
    tier: int,
    users: Iterable[User],
    channels: Iterable[Channel],
    now: datetime,
    reason: str = AlertRecipient.Reason.CONTACT,
) -> list[Outbox]:
    """Queue ``message`` to ``users`` (in-app, e-mail with the full text, SMS with the short one) and
    to ``channels``; one ``AlertRecipient`` per new message. Returns the outbox rows (existing ones
    when keys repeat)."""
    known = set(AlertRecipient.objects.filter(alert=alert).values_list("outbox_id", flat=True))
    rows: list[Outbox] = []
    recipients: list[AlertRecipient] = []

    def send(kind: str, to: Any, who: str, user: User | None, body: str) -> None:
        key = f"case-alert:{case.pk}:{label}:{kind}:{who}"
        sms = kind == ChannelKind.SMS
        try:
            row = notify.queue(
                kind,
                to,
                subject=message.subject,
                body=body,
                key=key,
                link=message.link,
                priority=Outbox.Priority.ALERT,  # ahead of tips and reminders, with room kept on every robot
                sms_template=Template.ALERT if sms else "",
                sms_params=message.sms_params if sms else None,
            )
        except ValidationError:
            log.warning("case alert %s: %s message to %s not queued (bad address)", case.pk, kind, who)
            return
        rows.append(row)
        if row.pk not in known:
            known.add(row.pk)
            recipients.append(
                AlertRecipient(
                    alert=alert, tier=tier, user=user, channel_kind=kind, outbox=row, at=now, reason=reason
                )
            )

    for user in users:
        send(ChannelKind.IN_APP, user, str(user.pk), user, message.body)
        if user.email:
            send(ChannelKind.EMAIL, user, str(user.pk), user, message.full or message.body)
        phone = _phone(user)
        if phone:
            send(ChannelKind.SMS, phone, str(user.pk), user, message.short)
    for channel in channels:
        body = message.full if channel.kind == ChannelKind.EMAIL and message.full else message.body
        send(channel.kind, channel, f"c{channel.pk}", None, body)
    AlertRecipient.objects.bulk_create(recipients)
    return rows


def _notify_tier(
    alert: Alert,
    case: Case,
    users: Iterable[User],
    channel_paths: Sequence[str],
    *,
    tier: int,
    now: datetime,
    again: bool = False,
) -> list[Outbox]:
    """Queue the alert to the tier's ``users`` and to the staff and police channels on
    ``channel_paths``. Returns the outbox rows (existing ones when keys repeat)."""
    message = alert_message(case, alert, tier=tier, again=again)
    label = f"{tier}-again" if again else str(tier)
    return _queue_all(
        alert, case, message, label=label, tier=tier, users=users, channels=_channels(channel_paths), now=now
    )


def _notify_counsellor(alert: Alert, case: Case, told: Iterable[User], *, now: datetime) -> list[Outbox]:
    """A self-report: tell the student's own counsellor at once (item 21 of the security issue).

    Why: the student's page promises "辅导员会联系你", and the counsellor is who can reach the student
    in minutes, but is rarely a police contact. The counsellor is the class's (``class_counsellor``);
    they get the alert in-app, by e-mail and SMS like a contact of the first tier, with a line saying
    why, and nothing the contacts do not get (no name, phone or ID). Their class's staff channels are
    already among the first tier's (the tier's channels start at the case's unit, the class). Once
    only: escalation does not repeat it; a counsellor who is a contact of the first tier already has
    it. Their rows carry ``Reason.COUNSELLOR`` and show on the alert page.
    """
    counsellor = class_counsellor(case)
    if counsellor is None or counsellor.pk in {u.pk for u in told}:
        return []
    message = alert_message(case, alert, counsellor=True)
    return _queue_all(
        alert,
        case,
        message,
        label="counsellor",
        tier=0,
        users=[counsellor],
        channels=[],
        now=now,
        reason=AlertRecipient.Reason.COUNSELLOR,
    )


def _channel_paths(case: Case, tier: Tier | None) -> list[str]:
    """Units from the case's up to the tier's (all the way to the root when there is no tier)."""
    paths = _ancestor_paths(case.unit)
    if tier is None or tier.path not in paths:
        return paths
    return paths[: paths.index(tier.path) + 1]


# Delivery --------------------------------------------------------------------------------------------


def _deliver(pks: list[int]) -> None:
    """Send the rows now; whatever fails stays in the outbox for the worker (never raises)."""
    order: dict[str, int] = {ChannelKind.IN_APP: 0, ChannelKind.SMS: 1, ChannelKind.EMAIL: 2}
    try:
        rows = sorted(
            Outbox.objects.filter(pk__in=pks, status=Outbox.Status.PENDING),
            key=lambda r: (order.get(r.channel_kind, 3), r.pk),
        )
    except Exception:
        log.exception("case alert: could not read outbox rows for immediate delivery")
        return
    for row in rows:
        try:
            deliver_now(row)
        except Exception:  # a broken adapter must not stop the other rows; the worker retries it
            log.exception("case alert: immediate delivery of outbox %s failed", row.pk)


def _deliver_in_thread(pks: list[int]) -> None:
    try:
        _deliver(pks)
    finally:
        connection.close()


def dispatch(rows: Iterable[Outbox], mode: str | None = None) -> None:
    """After commit, deliver the pending rows at once: in a daemon thread (default), inline ("sync"),
    or not at all ("off": ``fanzha deliver-outbox`` sends them)."""
    pks = [r.pk for r in rows if r.status == Outbox.Status.PENDING]
    mode = mode or getattr(settings, "FANZHA_ALERT_DELIVERY", "thread")
    if not pks or mode == "off":
        return

    def start() -> None:
        if mode == "sync":
            _deliver(pks)
        else:
            threading.Thread(target=_deliver_in_thread, args=(pks,), name="case-alert", daemon=True).start()

    transaction.on_commit(start, robust=True)


# Verbs -----------------------------------------------------------------------------------------------


def _require_police(actor: Any, case: Case) -> None:
    if actor is None or not in_scope(actor, case.unit, Cap.CASE_POLICE):
        raise PermissionDenied(_("只有警方（警务联络员）可以进行此操作"))


def _escalate_minutes() -> timedelta:
    return timedelta(minutes=settings.FANZHA_ALERT_ESCALATE_MINUTES)


@transaction.atomic
def raise_alert(case: Case, actor: Any = None, now: datetime | None = None) -> Alert:
    """Raise the case's alert once: state reported → alerted, messages queued to the first tier (and,
    for a self-report, to the student's counsellor) and delivered right after commit; a second call
    returns the alert and sends nothing."""

    now = now or timezone.now()
    existing = Alert.objects.filter(case=case).first()
    if existing is not None:
        return existing
    given = case
    case = Case.objects.select_for_update().select_related("unit").get(pk=case.pk)
    alert, created = Alert.objects.get_or_create(case=case, defaults={"raised_at": now})
    if not created:
        return alert
    tiers = tiers_for(case.unit)
    first = tiers[0] if tiers else None
    rows = _notify_tier(
        alert, case, first.users if first else [], _channel_paths(case, first), tier=0, now=now
    )
    told = {u.pk for u in first.users} if first else set()
    for station in station_contacts(case.unit):
        users = [u for u in station.users if u.pk not in told]
        told.update(u.pk for u in users)
        rows += _queue_all(
            alert,
            case,
            alert_message(case, alert, tier=0),
            label=f"station-{station.path}",
            tier=0,
            users=users,
            channels=_channels([station.path]),
            now=now,
        )
    counsellor_rows: list[Outbox] = []
    if case.reported_via == ReportedVia.SELF:
        counsellor_rows = _notify_counsellor(alert, case, first.users if first else [], now=now)
    if first is not None:
        alert.next_escalation_at = now + _escalate_minutes()
        alert.save(update_fields=["next_escalation_at"])
    before = case.state
    if case.state == CaseState.REPORTED:
        case.state = given.state = CaseState.ALERTED
        case.save(update_fields=["state", "updated_at"])
    detail: dict[str, Any] = {
        "tier": 0,
        "recipients": len(rows),
        "seconds_to_alert": int(alert.seconds_to_alert),
    }
    if first is None:
        detail["no_contacts"] = True
    if counsellor_rows:
        detail["counsellor"] = len(counsellor_rows)
    record_event(case, CaseEvent.Kind.ALERT_SENT, actor, before=before, after=case.state, at=now, **detail)
    dispatch([*rows, *counsellor_rows])
    return alert


def _escalate_one(pk: int, now: datetime, delivery: str | None) -> bool:
    """Move one due alert to its next tier (or re-notify the last tier once); False if another run
    got there first or it is no longer due."""

    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(pk=pk, status=Alert.Status.OPEN, next_escalation_at__lte=now)
            .select_related("case__unit")
            .first()
        )
        if alert is None:
            return False
        case = alert.case
        tiers = tiers_for(case.unit)
        again = alert.tier + 1 >= len(tiers)
        tier = min(alert.tier + 1, len(tiers) - 1) if tiers else alert.tier
        following = None if again else now + _escalate_minutes()
        # The claim: only the run that moves the alert from the state it read may send (a second run
        # in parallel on a database without row locks finds nothing to update).
        claimed = Alert.objects.filter(
            pk=alert.pk,
            tier=alert.tier,
            next_escalation_at=alert.next_escalation_at,
            status=Alert.Status.OPEN,
        ).update(tier=tier, next_escalation_at=following)
        if not claimed:
            return False
        alert.tier, alert.next_escalation_at = tier, following
        rows: list[Outbox] = []
        if tiers:
            rows = _notify_tier(
                alert,
                case,
                tiers[tier].users,
                _channel_paths(case, tiers[tier]),
                tier=tier,
                now=now,
                again=again,
            )
        detail: dict[str, Any] = {"tier": tier, "recipients": len(rows)}
        if again:
            detail["final"] = True
        if not tiers:
            detail["no_contacts"] = True
        record_event(case, CaseEvent.Kind.ESCALATED, None, at=now, **detail)
        dispatch(rows, delivery)
    return True


def escalate_due(now: datetime | None = None, delivery: str | None = None) -> int:
    """Escalate every open alert whose time is up; return how many moved. Safe to run twice or in
    parallel (row locks, a conditional update as the claim, and the outbox keys).

    ``delivery`` overrides ``FANZHA_ALERT_DELIVERY`` (the command delivers inline: its process ends
    before a daemon thread would finish).
    """
    now = now or timezone.now()
    due = list(
        Alert.objects.filter(status=Alert.Status.OPEN, next_escalation_at__lte=now)
        .order_by("next_escalation_at", "pk")
        .values_list("pk", flat=True)
    )
    return sum(1 for pk in due if _escalate_one(pk, now, delivery))


def is_late(alert: Alert) -> bool:
    """Acknowledged later than ``FANZHA_ALERT_ESCALATE_MINUTES`` after the alert went out."""
    seconds = alert.seconds_to_ack
    return seconds is not None and seconds > _escalate_minutes().total_seconds()


@transaction.atomic
def acknowledge_alert(alert: Alert, actor: Any, note: str = "", now: datetime | None = None) -> Alert:
    """The police side takes the alert (``CASE_POLICE`` at the case's unit): escalation stops and the
    time to acknowledge is recorded. A second acknowledgement is refused."""

    now = now or timezone.now()
    alert = Alert.objects.select_for_update().select_related("case__unit").get(pk=alert.pk)
    _require_police(actor, alert.case)
    if alert.status == Alert.Status.ENDED:
        raise ValidationError(_("案件已结案，预警已结束，无需再确认"))
    if alert.status != Alert.Status.OPEN:
        raise ValidationError(_("该预警已经确认过了"))
    alert.status = Alert.Status.ACKNOWLEDGED
    alert.acknowledged_at = now
    alert.acknowledged_by = actor
    alert.next_escalation_at = None
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "next_escalation_at"])
    detail: dict[str, Any] = {"seconds": int(alert.seconds_to_ack or 0), "tier": alert.tier}
    if is_late(alert):
        detail["late"] = True
    if note.strip():
        detail["note"] = note.strip()[:300]
    record_event(alert.case, CaseEvent.Kind.ACKNOWLEDGED, actor, at=now, **detail)
    return alert


@transaction.atomic
def record_alert_outcome(
    alert: Alert,
    actor: Any,
    frozen_amount: Any,
    recovered_amount: Any,
    note: str = "",
    now: datetime | None = None,
) -> Alert:
    """What the stop-payment achieved: amounts frozen and recovered (each at most the loss), after the
    police acknowledged the alert; recording again corrects the figures (a new event each time)."""

    now = now or timezone.now()
    alert = Alert.objects.select_for_update().select_related("case__unit").get(pk=alert.pk)
    case = Case.objects.select_for_update().get(pk=alert.case_id)
    _require_police(actor, case)
    if alert.status == Alert.Status.ENDED or case.state == CaseState.CLOSED:
        raise ValidationError(_("案件已结案，止付结果请在结案信息中修改"))
    if alert.status == Alert.Status.OPEN:
        raise ValidationError(_("请先确认接警，再登记止付结果"))
    errors: dict[str, list[str]] = {}
    amounts: dict[str, Decimal] = {}
    for field, raw, label in (
        ("frozen_amount", frozen_amount, _("止付冻结金额")),
        ("recovered_amount", recovered_amount, _("追回金额")),
    ):
        try:
            amounts[field] = parse_amount(raw if raw not in (None, "") else 0, label)
        except ValidationError as exc:
            errors[field] = exc.messages
            continue
        if amounts[field] > case.total_loss:
            errors[field] = [
                _("%(label)s不能超过损失金额%(loss)s元") % {"label": label, "loss": yuan(case.total_loss)}
            ]
    if errors:
        raise ValidationError(errors)
    case.frozen_amount = amounts["frozen_amount"]
    case.recovered_amount = amounts["recovered_amount"]
    case.save(update_fields=["frozen_amount", "recovered_amount", "updated_at"])
    alert.status = Alert.Status.RESOLVED
    alert.resolved_at = now
    alert.outcome_note = note.strip()[:300]
    alert.save(update_fields=["status", "resolved_at", "outcome_note"])
    detail: dict[str, Any] = {"frozen": str(case.frozen_amount), "recovered": str(case.recovered_amount)}
    if alert.outcome_note:
        detail["note"] = alert.outcome_note
    record_event(case, CaseEvent.Kind.OUTCOME, actor, at=now, **detail)
    return alert


def end_alert(case: Case, now: datetime | None = None) -> Alert | None:
    """Closing a case ends its alert (``cases.actions.change_state`` calls this in its transaction).

    Why: an alert left "待警方确认" after the case was closed kept live buttons in the police queue
    and could still escalate. Ended, it leaves the queue (the list hides it by default), never
    escalates, takes no acknowledgement or outcome, and its page says the case was closed. What it
    had reached stays (acknowledged and resolved times, the outcome note). None without an alert;
    an alert already ended is left as it is.
    """
    now = now or timezone.now()
    alert = Alert.objects.select_for_update().filter(case=case).first()
    if alert is None or alert.status == Alert.Status.ENDED:
        return alert
    alert.status = Alert.Status.ENDED
    alert.ended_at = now
    alert.next_escalation_at = None
    alert.save(update_fields=["status", "ended_at", "next_escalation_at"])
    return alert


# Figures ---------------------------------------------------------------------------------------------


def _p90(values: list[float]) -> float | None:
    """The 90th percentile by nearest rank (a value that occurred, not an interpolation)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]


def alert_stats(qs: QuerySet[Alert]) -> dict[str, Any]:
    """Time to alert and to acknowledge over ``qs`` (one query): count, median and p90 in seconds,
    acknowledged, open, and late acknowledgements (after ``FANZHA_ALERT_ESCALATE_MINUTES``)."""
    limit = _escalate_minutes().total_seconds()
    to_alert: list[float] = []
    to_ack: list[float] = []
    open_count = 0
    for raised, reported, acked, status in qs.values_list(
        "raised_at", "case__reported_at", "acknowledged_at", "status"
    ):
        to_alert.append(max((raised - reported).total_seconds(), 0.0))
        if acked is not None:
            to_ack.append((acked - raised).total_seconds())
        if status == Alert.Status.OPEN:
            open_count += 1
    return {
        "count": len(to_alert),
        "acknowledged": len(to_ack),
        "open": open_count,
        "late": sum(1 for s in to_ack if s > limit),
        "limit_seconds": limit,
        "alert_median": statistics.median(to_alert) if to_alert else None,
        "alert_p90": _p90(to_alert),
        "ack_median": statistics.median(to_ack) if to_ack else None,
        "ack_p90": _p90(to_ack),
    }
