"""Every write of the case ledger's intake and workflow: drafts, report, edit, attach, change state,
reveal, export. Input is checked by ``intake.clean_input``; alerts, follow-up, trace-back and
accountability have their own packages, each with its ``actions``.

Each verb is atomic and writes its ``CaseEvent`` in the same transaction, so the timeline is
exactly the history of what committed. Permission is checked here (not only in views) through
``queries.can``, so the API, commands and pages refuse the same things the same way: a role
that may not make a change gets ``PermissionDenied`` and nothing changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from fanzha.campaigns.activities.files import inspect_upload
from fanzha.core import crypto
from fanzha.core.identifiers import mask_account
from fanzha.core.models import AuditRecord
from fanzha.org.models import Person, Unit
from fanzha.org.scope import Cap, in_scope

from . import export, queries
from .accountability.actions import propose_accountability, refresh_accountability
from .alerts.actions import end_alert, raise_alert
from .callbacks.actions import schedule_callback
from .events import record_event
from .followup.actions import open_followup
from .intake import CaseInput, Cleaned, _aware, clean_input, parse_amount
from .models import (
    Attachment,
    Case,
    CaseDraft,
    CaseEvent,
    CaseState,
    Indicator,
    Outcome,
    ReportedVia,
    Side,
    Transfer,
)
from .traceback.actions import generate_traceback

MAX_ATTACHMENTS = 20


def _require_victim_in_scope(actor: Any, victim: Person) -> None:
    """A victim picked from the roster must be a person the recording user may see."""
    from fanzha.org.scope import people_for

    if not people_for(actor).filter(pk=victim.pk).exists():
        raise ValidationError({"victim": [_("所选受害人不在您的管理范围内")]})


def _require(actor: Any, unit: Unit, cap: Cap) -> None:
    if actor is None or not in_scope(actor, unit, cap):
        raise PermissionDenied(_("您没有权限进行此操作"))


# Intake ---------------------------------------------------------------------------------------------


def _write_details(case: Case, c: Cleaned) -> None:
    case.unit = c.unit
    case.victim = c.victim
    case.victim_name = c.victim_name
    phone = c.victim_phone or (c.victim.phone if c.victim is not None and not c.victim_phone else "")
    id_number = c.victim_id_number or (
        c.victim.id_number if c.victim is not None and not c.victim_id_number else ""
    )
    case.set_victim_phone(phone)
    case.set_victim_id(id_number)
    case.occurred_at = c.occurred_at
    case.reported_at = c.reported_at
    case.place = c.place
    case.channel = c.channel
    case.fraud_type = c.fraud_type
    case.impersonated = c.impersonated
    case.narrative = c.narrative
    case.total_loss = c.total_loss
    case.set_funds(c.fund_sources, c.funds_note)
    case.set_family(c.family)
    case.last_transfer_at = max((t.at for t in c.transfers), default=None)


def _write_lines(case: Case, c: Cleaned) -> None:
    Indicator.objects.filter(case=case).delete()
    Transfer.objects.filter(case=case).delete()
    Indicator.objects.bulk_create(
        [
            Indicator(
                case=case,
                side=i.side,
                kind=i.kind,
                value=i.value if i.side == Side.SUSPECT else "",
                value_enc=crypto.encrypt(i.value) if i.side == Side.VICTIM else "",
                value_hash=crypto.keyed_hash(i.value),
                value_masked=mask_account(i.value) if i.side == Side.VICTIM else "",
                note=i.note,
            )
            for i in c.indicators
        ]
    )
    Transfer.objects.bulk_create(
        [
            Transfer(
                case=case,
                at=t.at,
                amount=t.amount,
                method=t.method,
                from_enc=crypto.encrypt(t.from_account),
                from_masked=mask_account(t.from_account),
                to_account=t.to_account,
                to_name=t.to_name,
            )
            for t in c.transfers
        ]
    )


def needs_alert(case: Case, now: datetime | None = None) -> bool:
    """Whether a newly reported case starts the stop-payment flow: money moved in the last 24 hours.

    The window is ``settings.FANZHA_STOP_PAYMENT_WINDOW_HOURS``: beyond it the money has left the
    first accounts and an alert only adds noise.
    """
    from django.conf import settings

    now = now or timezone.now()
    if case.last_transfer_at is None:
        return False
    return now - case.last_transfer_at <= timedelta(hours=settings.FANZHA_STOP_PAYMENT_WINDOW_HOURS)


def _after_report(case: Case, now: datetime | None) -> None:
    """Inside the report's transaction: the trace-back, the proposed accountability actions and, for a
    victim on the roster, the follow-up."""
    generate_traceback(case, now)
    propose_accountability(case)
    if case.victim_id is not None:
        open_followup(case, now=now)


def _after_edit(case: Case, now: datetime | None) -> None:
    """After an edit of the loss, the time or the unit: the snapshot and the proposals follow the case
    (lessons, issued and acknowledged actions stay)."""
    generate_traceback(case, now)
    refresh_accountability(case)


@transaction.atomic
@sensitive_variables()
def report_case(
    data: CaseInput,
    actor: Any,
    *,
    via: str = ReportedVia.STAFF,
    reporter: Person | None = None,
    submit_token: str = "",
    attachments: Sequence[File] = (),
    now: datetime | None = None,
) -> Case:
    """Record a case. Staff need ``CASE_EDIT`` at the unit; a member (``via=SELF``) reports only their
    own case, in their own unit, and their report always raises the alert at once.

    A second submit with the same ``submit_token`` (a double click, a retried request) returns the
    first case and changes nothing. A case with a transfer inside the stop-payment window raises the
    alert in the same transaction (``alerts.actions.raise_alert``).
    """
    now = now or timezone.now()
    if submit_token:
        existing = Case.objects.filter(submit_token=submit_token).first()
        if existing is not None:
            return existing
    if via == ReportedVia.SELF:
        if reporter is None or data.victim is None or data.victim.pk != reporter.pk:
            raise PermissionDenied(_("只能报告本人被骗的情况"))
        actor = None
    else:
        if data.unit is None:
            raise ValidationError({"unit": [_("请选择案件所属单位")]})
        _require(actor, data.unit, Cap.CASE_EDIT)
        if data.victim is not None:
            _require_victim_in_scope(actor, data.victim)
    cleaned = clean_input(data, now)
    checked = [inspect_upload(f) for f in attachments[:MAX_ATTACHMENTS]]
    case = Case(
        number="",
        state=CaseState.REPORTED,
        reported_via=via,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        submit_token=submit_token,
    )
    _write_details(case, cleaned)
    case.number = "tmp-" + crypto.keyed_hash(f"{now.isoformat()}:{submit_token}:{id(case)}")[:16]
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        existing = Case.objects.filter(submit_token=submit_token).first() if submit_token else None
        if existing is not None:
            return existing
        raise
    case.number = f"AJ{case.reported_at:%Y}{case.pk:06d}"
    Case.objects.filter(pk=case.pk).update(number=case.number)
    _write_lines(case, cleaned)
    for upload, info in zip(attachments, checked, strict=False):
        _store_attachment(case, upload, info, actor)
    record_event(
        case,
        CaseEvent.Kind.REPORTED,
        actor,
        after=CaseState.REPORTED,
        at=now,
        via=via,
        transfers=len(cleaned.transfers),
        indicators=len(cleaned.indicators),
    )
    _after_report(case, now)
    if via == ReportedVia.SELF or needs_alert(case, now):
        raise_alert(case, actor=None, now=now)
    return case


# What an edit compares, stored attribute → the name its event lists (hashes stand for the encrypted
# numbers; funds and family are compared decrypted, since encrypting the same text twice differs).
_TRACKED = {
    "victim_id": "victim",
    "victim_name": "victim_name",
    "victim_phone_hash": "victim_phone",
    "victim_id_hash": "victim_id_number",
    "occurred_at": "occurred_at",
    "reported_at": "reported_at",
    "place": "place",
    "channel": "channel",
    "fraud_type": "fraud_type",
    "impersonated": "impersonated",
    "narrative": "narrative",
    "total_loss": "total_loss",
    "unit_id": "unit",
    "funds": "funds",
    "family": "family",
}


@transaction.atomic
@sensitive_variables()
def edit_case(case: Case, data: CaseInput, actor: Any, now: datetime | None = None) -> Case:
    """Correct a case's intake (``CASE_EDIT`` at its unit, and at the new unit if it moves).

    Sensitive fields left empty (and the victim's accounts left masked) keep their stored values
    (``_keep_stored``). The event lists the names of the fields that changed, never their values.
    A closed case is not edited: reopen questions go through the police side.
    """
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require(actor, case.unit, Cap.CASE_EDIT)
    if data.unit is not None and data.unit.pk != case.unit_id:
        _require(actor, data.unit, Cap.CASE_EDIT)
    if case.state == CaseState.CLOSED:
        raise ValidationError(_("案件已结案，不能再修改"))
    if data.victim is not None and data.victim.pk != case.victim_id:
        _require_victim_in_scope(actor, data.victim)
    before = {attr: getattr(case, attr) for attr in _TRACKED}
    before_lines = _lines_signature(case)
    cleaned = clean_input(_keep_stored(case, data), now)
    _write_details(case, cleaned)
    case.save()
    _write_lines(case, cleaned)
    changed = [name for attr, name in _TRACKED.items() if before[attr] != getattr(case, attr)]
    if before_lines != _lines_signature(case):
        changed.append("transfers_or_indicators")
    if changed:
        record_event(case, CaseEvent.Kind.EDITED, actor, at=now, fields=changed)
        _after_edit(case, now)
        if case.state == CaseState.REPORTED and needs_alert(case, now):
            # A transfer inside the stop-payment window learnt only now: the alert goes out now.
            raise_alert(case, actor=None, now=now)
    return case


def _keep_stored(case: Case, data: CaseInput) -> CaseInput:
    """Read what an edit form left unshown as "unchanged": the stored values stand in for it.

    Why: the edit form shows sensitive values only after an audited reveal. Without one, the
    victim's phone, ID number, family situation and source of funds come back empty, and the
    victim's own accounts come back masked (``****1234``, never a valid account); neither may
    erase what the intake recorded. A new victim from the roster brings their own numbers.
    Times come back to the minute: one in the minute of a stored time is that time, unchanged.
    """
    data = replace(data)
    data.occurred_at = _same_minute(data.occurred_at, [case.occurred_at])
    data.reported_at = _same_minute(data.reported_at, [case.reported_at])
    stored_times = list(Transfer.objects.filter(case=case).values_list("at", flat=True))
    if (data.victim.pk if data.victim is not None else None) == case.victim_id:
        if not data.victim_phone.strip():
            data.victim_phone = crypto.decrypt(case.victim_phone_enc)
        if not data.victim_id_number.strip():
            data.victim_id_number = crypto.decrypt(case.victim_id_enc)
    if not data.family.strip():
        data.family = case.family
    if not data.fund_sources and not data.funds_note.strip():
        funds = case.funds
        data.fund_sources = list(funds.get("sources") or [])
        data.funds_note = str(funds.get("note") or "")
    accounts = {
        (i.kind, i.value_masked): crypto.decrypt(i.value_enc)
        for i in Indicator.objects.filter(case=case, side=Side.VICTIM)
        if i.value_masked
    }
    data.indicators = [
        replace(i, value=accounts.get((i.kind, str(i.value or "").strip()), i.value))
        if i.side == Side.VICTIM
        else i
        for i in data.indicators
    ]
    payers = {
        t.from_masked: crypto.decrypt(t.from_enc) for t in Transfer.objects.filter(case=case) if t.from_masked
    }
    data.transfers = [
        replace(
            t,
            at=_same_minute(t.at, stored_times),
            from_account=payers.get(str(t.from_account or "").strip(), t.from_account),
        )
        for t in data.transfers
    ]
    return data


def _same_minute(value: datetime | None, stored: list[datetime]) -> datetime | None:
    """A time typed to the minute (as forms do) that matches a stored time keeps the stored one."""
    if value is None:
        return None
    typed = _aware(value).replace(second=0, microsecond=0)
    for at in stored:
        if at.replace(second=0, microsecond=0) == typed and typed == _aware(value):
            return at
    return value


def _lines_signature(case: Case) -> str:
    ind = sorted(Indicator.objects.filter(case=case).values_list("side", "kind", "value_hash"))
    tr = sorted(
        (t.at.isoformat(), str(t.amount), t.method, t.to_account, t.from_masked)
        for t in Transfer.objects.filter(case=case)
    )
    return json.dumps([ind, tr])


def _store_attachment(case: Case, upload: File, info: Any, actor: Any) -> Attachment:
    upload.seek(0)
    name = (
        timezone.now().strftime("cases/%Y/%m/")
        + f"{crypto.keyed_hash(info.sha256 + str(case.pk))[:24]}.{info.extension}"
    )
    stored = default_storage.save(name, upload)
    return Attachment.objects.create(
        case=case,
        file=stored,
        content_type=info.type.content_type,
        size=info.size,
        sha256=info.sha256,
        original_name=info.name,
        uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


@transaction.atomic
def add_attachment(case: Case, upload: File, actor: Any) -> Attachment:
    """Attach a file, checked by its content against its name; the same file twice is refused."""
    _require(actor, case.unit, Cap.CASE_EDIT)
    if case.attachments.count() >= MAX_ATTACHMENTS:
        raise ValidationError(_("每个案件最多%(n)d个附件") % {"n": MAX_ATTACHMENTS})
    info = inspect_upload(upload)
    if case.attachments.filter(sha256=info.sha256).exists():
        raise ValidationError(_("这个文件已经上传过了"))
    attachment = _store_attachment(case, upload, info, actor)
    record_event(case, CaseEvent.Kind.ATTACHED, actor, name=attachment.original_name, size=attachment.size)
    return attachment


# Workflow -------------------------------------------------------------------------------------------

# (from, to) → the capability the change needs. REPORTED → ALERTED is the alert's own (raise_alert).
TRANSITIONS: dict[tuple[str, str], Cap] = {
    (CaseState.REPORTED, CaseState.FILED): Cap.CASE_POLICE,
    (CaseState.ALERTED, CaseState.FILED): Cap.CASE_POLICE,
    (CaseState.FILED, CaseState.INVESTIGATING): Cap.CASE_POLICE,
    (CaseState.REPORTED, CaseState.CLOSED): Cap.CASE_POLICE,
    (CaseState.ALERTED, CaseState.CLOSED): Cap.CASE_POLICE,
    (CaseState.FILED, CaseState.CLOSED): Cap.CASE_POLICE,
    (CaseState.INVESTIGATING, CaseState.CLOSED): Cap.CASE_POLICE,
}


def allowed_transitions(case: Case, user: Any) -> list[str]:
    """The states the user may move the case to now (for the buttons of the case page)."""
    return [
        to for (frm, to), cap in TRANSITIONS.items() if frm == case.state and in_scope(user, case.unit, cap)
    ]


@transaction.atomic
def change_state(
    case: Case,
    to: str,
    actor: Any,
    *,
    police_case_number: str = "",
    outcome: str = "",
    frozen_amount: Any = None,
    recovered_amount: Any = None,
    note: str = "",
    now: datetime | None = None,
) -> Case:
    """Move a case along reported → (alerted) → filed → investigating → closed.

    Filing needs the police case number; closing needs the outcome, and the recovered amount must
    agree with it (all, part or none of the loss), and ends the case's alert (``end_alert``). A
    change the actor's role may not make raises ``PermissionDenied``; a change not allowed from the
    current state raises ``ValidationError``.
    """
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    cap = TRANSITIONS.get((case.state, to))
    if cap is None:
        raise ValidationError(
            _("案件当前状态为“%(a)s”，不能改为“%(b)s”")
            % {"a": CaseState(case.state).label, "b": CaseState(to).label if to in CaseState.values else to}
        )
    _require(actor, case.unit, cap)
    before = case.state
    fields = ["state", "updated_at"]
    if to == CaseState.FILED:
        number = police_case_number.strip()
        if not number:
            raise ValidationError({"police_case_number": [_("立案请填写公安立案编号")]})
        case.police_case_number = number[:40]
        fields.append("police_case_number")
    if to == CaseState.CLOSED:
        if outcome not in Outcome.values:
            raise ValidationError({"outcome": [_("结案请选择结果")]})
        recovered = parse_amount(recovered_amount if recovered_amount not in (None, "") else 0, _("追回金额"))
        frozen = (
            parse_amount(frozen_amount, _("止付冻结金额"))
            if frozen_amount not in (None, "")
            else case.frozen_amount
        )
        if recovered > case.total_loss or frozen > case.total_loss:
            raise ValidationError({"recovered_amount": [_("追回或冻结金额不能超过损失金额")]})
        if outcome == Outcome.RECOVERED and recovered != case.total_loss:
            raise ValidationError({"recovered_amount": [_("“全部追回”时追回金额应等于损失金额")]})
        if outcome == Outcome.PARTLY and not (0 < recovered < case.total_loss):
            raise ValidationError({"recovered_amount": [_("“部分追回”时追回金额应大于0且小于损失金额")]})
        if outcome == Outcome.UNRECOVERED and recovered != 0:
            raise ValidationError({"recovered_amount": [_("“未追回”时追回金额应为0")]})
        case.outcome = outcome
        case.recovered_amount = recovered
        case.frozen_amount = frozen
        case.closed_at = now
        fields += ["outcome", "recovered_amount", "frozen_amount", "closed_at"]
    case.state = to
    case.save(update_fields=fields)
    detail: dict[str, Any] = {}
    if note.strip():
        detail["note"] = note.strip()[:300]
    if to == CaseState.CLOSED:
        detail.update(outcome=outcome, recovered=str(case.recovered_amount), frozen=str(case.frozen_amount))
        if end_alert(case, now) is not None:
            detail["alert_ended"] = True
        schedule_callback(case, now)
    record_event(case, CaseEvent.Kind.STATE, actor, before=before, after=to, at=now, **detail)
    return case


# Drafts ---------------------------------------------------------------------------------------------


@transaction.atomic
@sensitive_variables()
def save_draft(
    owner: Any, data: dict[str, Any], draft: CaseDraft | None = None, unit: Unit | None = None
) -> CaseDraft:
    """Keep an intake form as typed (autosave), encrypted; nothing is validated yet.

    Only the draft's owner may save over it; it holds whatever was typed, sensitive fields included.
    """
    if owner is None or not owner.is_authenticated:
        raise PermissionDenied(_("请先登录"))
    payload = crypto.encrypt(json.dumps(data, ensure_ascii=False, default=str)[:200_000])
    if draft is None:
        return CaseDraft.objects.create(owner=owner, unit=unit, data_enc=payload)
    draft = CaseDraft.objects.select_for_update().get(pk=draft.pk)
    if draft.owner_id != owner.pk:
        raise PermissionDenied(_("只能保存自己的草稿"))
    draft.data_enc = payload
    draft.unit = unit or draft.unit
    draft.save(update_fields=["data_enc", "unit", "updated_at"])
    return draft


@transaction.atomic
def discard_draft(draft: CaseDraft, owner: Any) -> None:
    if draft.owner_id != getattr(owner, "pk", None):
        raise PermissionDenied(_("只能删除自己的草稿"))
    CaseDraft.objects.filter(pk=draft.pk).delete()


# Reveal ---------------------------------------------------------------------------------------------

REVEALABLE = ("victim_phone", "victim_id_number", "family", "funds", "victim_accounts")


@transaction.atomic
@sensitive_variables()
def reveal_case(case: Case, actor: Any, fields: Iterable[str] = REVEALABLE) -> dict[str, Any]:
    """Return the case's sensitive values to a role that needs them (``CASE_REVEAL``), audited.

    Every call writes an ``AuditRecord`` (who, which fields, when) and a timeline event; the values
    themselves are never written anywhere.
    """
    _require(actor, case.unit, Cap.CASE_REVEAL)
    wanted = [f for f in fields if f in REVEALABLE]
    if not wanted:
        raise ValidationError(_("没有可查看的字段"))
    values: dict[str, Any] = {}
    for f in wanted:
        if f == "victim_phone":
            values[f] = crypto.decrypt(case.victim_phone_enc)
        elif f == "victim_id_number":
            values[f] = crypto.decrypt(case.victim_id_enc)
        elif f == "family":
            values[f] = case.family
        elif f == "funds":
            values[f] = case.funds
        elif f == "victim_accounts":
            values[f] = [
                {"kind": i.kind, "value": crypto.decrypt(i.value_enc), "note": i.note}
                for i in case.indicators.filter(side=Side.VICTIM)
            ] + [
                {"kind": "transfer_from", "value": crypto.decrypt(t.from_enc), "note": str(t.amount)}
                for t in case.transfers.all()
                if t.from_enc
            ]
    AuditRecord.objects.create(
        actor=actor,
        action=AuditRecord.Action.REVEAL,
        object_type="case",
        object_id=str(case.pk),
        detail=",".join(wanted),
    )
    record_event(case, CaseEvent.Kind.REVEALED, actor, fields=wanted)
    return values


# Export ---------------------------------------------------------------------------------------------
#
# A verb, so that the page, the command and any later API refuse and audit the same way. Every export
# writes an ``AuditRecord`` (who, which unit, how many cases, revealed or not), masked ones included:
# a ledger of fraud victims leaving the system is itself worth a trace.


@transaction.atomic
def export_ledger(
    user: Any,
    unit: Unit,
    reveal: bool = False,
    start: datetime | None = None,
    end: datetime | None = None,
) -> bytes:
    """The ledger of ``unit``'s subtree as XLSX, cases reported in [``start``, ``end``) when given;
    masked unless ``reveal``, which needs ``Cap.CASE_REVEAL`` at the unit. Audited every time."""
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or not in_scope(user, unit, Cap.CASE_VIEW)
    ):
        raise PermissionDenied(_("您没有权限导出该单位的案件"))
    if reveal and not in_scope(user, unit, Cap.CASE_REVEAL):
        raise PermissionDenied(_("您没有权限导出受害人敏感信息"))
    cap = Cap.CASE_REVEAL if reveal else Cap.CASE_VIEW
    scoped = queries.cases_for(user, cap).filter(unit__path__startswith=unit.path)
    if start is not None:
        scoped = scoped.filter(reported_at__gte=start)
    if end is not None:
        scoped = scoped.filter(reported_at__lt=end)
    cases = export.load(scoped)
    data = export.export_cases(cases, reveal=reveal)
    period = f";from={start:%Y-%m-%d}" if start else ""
    period += f";to={end:%Y-%m-%d}" if end else ""
    detail = f"unit={unit.code};count={len(cases)}{period}" + (";reveal" if reveal else "")
    AuditRecord.objects.create(
        actor=user,
        action=AuditRecord.Action.EXPORT,
        object_type="cases",
        object_id=str(unit.pk),
        detail=detail[:200],
    )
    return data
