"""Accountability (问责) after a case: actions proposed from the running campaigns' rules by the loss
(listing, interview, notice …), aimed at the unit just below the campaign's on the way to the case's
unit, issued by the campaign side's admins and acknowledged by the target's. Each step is atomic and
on the case's timeline.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fanzha.campaigns.models import Campaign
from fanzha.campaigns.spec import AccountabilityRule, TemplateError, fill
from fanzha.org.models import Role, RoleGrant, Unit
from fanzha.org.scope import Cap, in_scope

from .. import queries
from ..events import record_event
from ..models import AccountabilityAction, Case, CaseEvent

# The administrators of a unit: told of an accountability action, and the ones who acknowledge it.
ADMIN_ROLES = (Role.BUREAU_ADMIN, Role.SCHOOL_ADMIN, Role.COLLEGE_ADMIN)


def rule_matches(rule: AccountabilityRule, loss: Decimal) -> bool:
    """Whether a loss falls inside a rule's bounds: above ``min_loss`` (exclusive), up to ``max_loss``."""
    if rule.min_loss is not None and not loss > Decimal(str(rule.min_loss)):
        return False
    return rule.max_loss is None or loss <= Decimal(str(rule.max_loss))


def _wanted(case: Case) -> dict[tuple[int, str], tuple[Campaign, str, str]]:
    """(campaign, action) → (campaign, target path, rule description) for every matching rule."""
    wanted: dict[tuple[int, str], tuple[Campaign, str, str]] = {}
    for campaign in queries.campaigns_at(case):
        try:
            rules = campaign.spec().accountability
        except TemplateError:
            continue
        for rule in rules:
            if rule_matches(rule, case.total_loss) and (campaign.pk, rule.action) not in wanted:
                wanted[(campaign.pk, rule.action)] = (
                    campaign,
                    queries.target_path(campaign, case),
                    fill(rule.description, campaign.placeholders or {}),
                )
    return wanted


@transaction.atomic
def refresh_accountability(case: Case) -> list[AccountabilityAction]:
    """Bring the proposed actions in step with the case: add newly matching ones, drop proposals that no
    longer match (a corrected loss, date or unit). Issued and acknowledged actions are kept as they are.
    Returns the case's actions."""
    wanted = _wanted(case)
    targets = {u.path: u for u in Unit.objects.filter(path__in={t for _c, t, _d in wanted.values()})}
    existing = {(a.campaign_id, a.action): a for a in AccountabilityAction.objects.filter(case=case)}
    for key, action in existing.items():
        if action.status == AccountabilityAction.Status.PROPOSED and key not in wanted:
            action.delete()
    for key, (campaign, target_path, description) in wanted.items():
        target = targets[target_path]
        found = existing.get(key)
        if found is None:
            AccountabilityAction.objects.get_or_create(
                case=case,
                campaign=campaign,
                action=key[1],
                defaults={"target": target, "rule": description[:300]},
            )
        elif found.status == AccountabilityAction.Status.PROPOSED and found.target_id != target.pk:
            found.target = target
            found.save(update_fields=["target"])
    return list(AccountabilityAction.objects.filter(case=case).order_by("campaign_id", "pk"))


def propose_accountability(case: Case) -> list[AccountabilityAction]:
    """The actions the running campaigns' rules call for, for this case's loss (idempotent)."""
    return refresh_accountability(case)


def can_issue(user: Any, action: AccountabilityAction) -> bool:
    return in_scope(user, action.campaign.unit, Cap.ACCOUNTABILITY)


def can_acknowledge(user: Any, action: AccountabilityAction) -> bool:
    """The target unit's own administrators: an admin role granted at the target unit itself (so the
    issuing side, whose grant is above it, cannot sign for the unit it holds to account)."""
    if user is None or not user.is_authenticated or not in_scope(user, action.target, Cap.CASE_EDIT):
        return False
    if user.is_superuser:
        return True
    return RoleGrant.objects.filter(user=user, unit=action.target, role__in=ADMIN_ROLES).exists()


def _locked(action: AccountabilityAction) -> AccountabilityAction:
    return (
        AccountabilityAction.objects.select_for_update()
        .select_related("case__unit", "campaign__unit", "target")
        .get(pk=action.pk)
    )


def _detail(action: AccountabilityAction) -> dict[str, Any]:
    return {"action": action.action, "campaign": action.campaign_id, "target": action.target_id}


@transaction.atomic
def issue_accountability(
    action: AccountabilityAction, actor: Any, note: str = "", now: datetime | None = None
) -> AccountabilityAction:
    """Issue a proposed action (``Cap.ACCOUNTABILITY`` at the campaign's unit); the target unit's
    administrators get an in-app notification."""
    now = now or timezone.now()
    action = _locked(action)
    if not can_issue(actor, action):
        raise PermissionDenied(_("您没有权限下发该问责"))
    if action.status != AccountabilityAction.Status.PROPOSED:
        raise ValidationError(_("该问责已经下发"))
    text = (note or "").strip()
    if len(text) > 300:
        raise ValidationError({"note": [_("说明最多300字")]})
    action.status = AccountabilityAction.Status.ISSUED
    action.issued_at = now
    action.issued_by = actor
    action.note = text
    action.save(update_fields=["status", "issued_at", "issued_by", "note"])
    record_event(action.case, CaseEvent.Kind.ACCOUNTABILITY, actor, step="issued", **_detail(action))
    _notify_target(action)
    return action


def _notify_target(action: AccountabilityAction) -> int:
    from fanzha.notify import actions as notify
    from fanzha.notify.models import ChannelKind

    grants = (
        RoleGrant.objects.filter(unit=action.target, role__in=ADMIN_ROLES, user__is_active=True)
        .select_related("user")
        .order_by("pk")
    )
    users = {g.user.pk: g.user for g in grants}
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("问责通知：%(action)s（案件%(number)s）") % {
            "action": AccountabilityAction.Action(action.action).label,
            "number": action.case.number,
        }
        body = _("%(issuer)s对%(target)s下发问责：%(action)s。依据：%(rule)s") % {
            "issuer": action.campaign.unit.name,
            "target": action.target.name,
            "action": AccountabilityAction.Action(action.action).label,
            "rule": action.rule,
        }
        if action.note:
            body += "\n" + _("说明：%(note)s") % {"note": action.note}
        body += "\n" + _("请登录平台签收。")
    link = reverse("accountability_list") + "?status=" + AccountabilityAction.Status.ISSUED
    for user in users.values():
        notify.queue(
            ChannelKind.IN_APP,
            user,
            subject=subject,
            body=body,
            link=link,
            key=f"accountability:{action.pk}:issued:{user.pk}",
        )
    return len(users)


@transaction.atomic
def acknowledge_accountability(
    action: AccountabilityAction, actor: Any, now: datetime | None = None
) -> AccountabilityAction:
    """The target unit's administrators acknowledge an issued action."""
    now = now or timezone.now()
    action = _locked(action)
    if not can_acknowledge(actor, action):
        raise PermissionDenied(_("只有被问责单位的管理员可以签收"))
    if action.status != AccountabilityAction.Status.ISSUED:
        raise ValidationError(
            _("该问责尚未下发，不能签收")
            if action.status == AccountabilityAction.Status.PROPOSED
            else _("该问责已经签收")
        )
    action.status = AccountabilityAction.Status.ACKNOWLEDGED
    action.acknowledged_at = now
    action.acknowledged_by = actor
    action.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
    record_event(action.case, CaseEvent.Kind.ACCOUNTABILITY, actor, step="acknowledged", **_detail(action))
    return action


def actions_of(case: Case) -> QuerySet[AccountabilityAction]:
    return AccountabilityAction.objects.filter(case=case).select_related("campaign__unit", "target")
