"""Police results (破案战果): a case cleared, suspects caught, money recovered, a gang broken; and the
periodic bulletin (通报) issued as the campaign's periodic-notice activity.

Every verb is atomic, checks ``Cap.CASE_POLICE`` at the case's (or gang's) unit, refuses bad input
with field errors before writing anything, and appends a ``CaseEvent`` (kind ``result``) to the
timeline of each case concerned in the same transaction, so what is counted is exactly what is logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fanzha.campaigns.activities.actions import record_activity
from fanzha.campaigns.models import Activity, ActivityKind, Campaign, Obligation
from fanzha.org.models import Unit

from ..events import record_event
from ..intake import parse_amount
from ..models import Case, CaseEvent, CaseResult, Gang
from ..stats import results as figures_q
from ..stats.queries import Period
from . import queries

NOTICE_RULE = "periodic-notice"
MAX_SUSPECTS = 10_000
REFUSED = _("只有警方可以登记破案战果")


def _case(case: Case, actor: Any) -> Case:
    case = Case.objects.select_for_update().select_related("unit").get(pk=case.pk)
    if not queries.can_record(actor, case.unit):
        raise PermissionDenied(REFUSED)
    return case


def _check_day(on: date | None, case: Case | None, errors: dict[str, list[str]], name: str = "on") -> None:
    if on is None:
        errors[name] = [_("请填写日期")]
    elif on > timezone.localdate():
        errors[name] = [_("日期不能晚于今天")]
    elif on.year < 2000 or (case is not None and on < timezone.localdate(case.occurred_at)):
        errors[name] = [_("日期不能早于发案时间")]


def _result(
    case: Case,
    actor: Any,
    kind: str,
    on: date,
    *,
    count: int = 0,
    amount: Decimal = Decimal("0"),
    note: str = "",
) -> CaseResult:
    result = CaseResult.objects.create(
        case=case,
        kind=kind,
        on=on,
        count=count,
        amount=amount,
        note=(note or "").strip()[:200],
        recorded_by=actor,
    )
    record_event(
        case,
        CaseEvent.Kind.RESULT,
        actor,
        result=result.pk,
        result_kind=kind,
        on=on.isoformat(),
        count=count,
        amount=str(amount),
    )
    return result


@transaction.atomic
def record_cleared(case: Case, actor: Any, *, on: date | None, note: str = "") -> CaseResult:
    """The case cleared (破案) on ``on``: once per case."""
    case = _case(case, actor)
    errors: dict[str, list[str]] = {}
    _check_day(on, case, errors)
    if CaseResult.objects.filter(case=case, kind=CaseResult.Kind.CLEARED).exists():
        errors["kind"] = [_("该案件已登记破案")]
    if errors:
        raise ValidationError(errors)
    assert on is not None
    return _result(case, actor, CaseResult.Kind.CLEARED, on, note=note)


@transaction.atomic
def record_suspects(case: Case, actor: Any, *, count: Any, on: date | None, note: str = "") -> CaseResult:
    """Suspects of the case caught on ``on`` (one row per arrest operation)."""
    case = _case(case, actor)
    errors: dict[str, list[str]] = {}
    _check_day(on, case, errors)
    try:
        number = int(str(count).strip())
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= MAX_SUSPECTS:
        errors["count"] = [_("抓获人数应为1至10000之间的整数")]
    if errors:
        raise ValidationError(errors)
    assert on is not None
    return _result(case, actor, CaseResult.Kind.SUSPECTS, on, count=number, note=note)


@transaction.atomic
def record_recovery(case: Case, actor: Any, *, amount: Any, on: date | None, note: str = "") -> CaseResult:
    """Money recovered for the victim on ``on``; added to ``Case.recovered_amount`` (never above the loss)."""
    case = _case(case, actor)
    errors: dict[str, list[str]] = {}
    _check_day(on, case, errors)
    value = Decimal("0")
    try:
        value = parse_amount(amount, _("追回金额"))
    except ValidationError as exc:
        errors["amount"] = exc.messages
    if "amount" not in errors and value <= 0:
        errors["amount"] = [_("追回金额应大于0")]
    elif "amount" not in errors and case.recovered_amount + value > case.total_loss:
        errors["amount"] = [
            _("累计追回金额不能超过损失金额（已追回%(done)s元，损失%(loss)s元）")
            % {"done": case.recovered_amount, "loss": case.total_loss}
        ]
    if errors:
        raise ValidationError(errors)
    assert on is not None
    Case.objects.filter(pk=case.pk).update(recovered_amount=F("recovered_amount") + value)
    return _result(case, actor, CaseResult.Kind.RECOVERED, on, amount=value, note=note)


@transaction.atomic
def record_gang(
    actor: Any,
    *,
    unit: Unit,
    name: str,
    broken_on: date | None,
    members_caught: Any,
    case_ids: Iterable[int],
    note: str = "",
) -> Gang:
    """A gang broken by ``unit``, linked to at least one case of the ledger in the actor's police scope
    (the link is what puts it on the cases' timelines)."""
    if not queries.can_record(actor, unit):
        raise PermissionDenied(REFUSED)
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("请填写团伙名称")]
    elif len(name) > 100:
        errors["name"] = [_("团伙名称不能超过100个字")]
    _check_day(broken_on, None, errors, "broken_on")
    try:
        members = int(str(members_caught).strip())
    except (TypeError, ValueError):
        members = -1
    if not 0 <= members <= MAX_SUSPECTS:
        errors["members_caught"] = [_("抓获成员数应为0至10000之间的整数")]
    ids = sorted({int(i) for i in case_ids})
    cases = list(queries.police_cases(actor).filter(pk__in=ids).select_for_update())
    if not ids:
        errors["cases"] = [_("请至少关联一起案件")]
    elif len(cases) != len(ids):
        errors["cases"] = [_("关联的案件不存在或不在您的管辖范围内")]
    if errors:
        raise ValidationError(errors)
    assert broken_on is not None
    gang = Gang.objects.create(
        name=name,
        unit=unit,
        broken_on=broken_on,
        members_caught=members,
        note=(note or "").strip()[:200],
        recorded_by=actor,
    )
    gang.cases.set(cases)
    for case in cases:
        record_event(
            case, CaseEvent.Kind.RESULT, actor, gang=gang.pk, result_kind="gang", on=broken_on.isoformat()
        )
    return gang


# The bulletin --------------------------------------------------------------------------------------


def notice_obligation(unit: Unit) -> Obligation | None:
    """The unit's periodic-notice obligation in a running campaign, if it has one."""
    return (
        Obligation.objects.filter(
            unit=unit, rule__code=NOTICE_RULE, is_active=True, campaign__status=Campaign.Status.ACTIVE
        )
        .select_related("campaign")
        .order_by("-campaign__starts_on", "pk")
        .first()
    )


@transaction.atomic
def issue_bulletin(actor: Any, unit: Unit, period: Period, *, today: date | None = None) -> Activity:
    """Issue the unit's bulletin for ``period``: a notice activity with the DOCX as its document
    evidence, against the unit's periodic-notice obligation when it has one (so issuing it meets the
    monthly obligation). Issuing the same period again is refused (the content would be identical)."""
    from .bulletin import build, issued, write_docx

    if not queries.can_record(actor, unit):
        raise PermissionDenied(_("只有警方可以签发通报"))
    today = today or timezone.localdate()
    if period.first > today:
        raise ValidationError({"period": [_("不能为尚未开始的期间签发通报")]})
    # The issued document is the record: in the site's language whoever clicks, so one period has one title.
    with translation.override(settings.LANGUAGE_CODE):
        bulletin = build(figures_q.sources_for(actor), unit, period)
        data = write_docx(bulletin)
        filename = _("通报-%(unit)s-%(period)s.docx") % {
            "unit": unit.name,
            "period": figures_q.period_code(period),
        }
    obligation = notice_obligation(unit)
    title = bulletin.title
    if issued(unit, period) is not None:
        raise ValidationError({"period": [_("该期通报已签发过")]})
    return record_activity(
        unit=unit,
        kind=ActivityKind.NOTICE,
        occurred_on=today,
        actor=actor,
        title=title,
        summary=bulletin.summary,
        obligation=obligation,
        files=[ContentFile(data, name=filename)],
    )
