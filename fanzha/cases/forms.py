"""Forms of the case pages. They parse what was typed into an ``intake.CaseInput``; every rule of
the intake (phone formats, Luhn, ID checksum, amounts, times) is checked by ``intake.clean_input``,
so pages, API and commands refuse the same things with the same messages.

Rows of transfers and indicators are Django formsets: the page's script adds rows, and without it
the form still offers a few empty ones. Empty rows are passed on in their place, so an action's
message "第3笔转账…" names the row the user sees as the third.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from fanzha.campaigns.activities.forms import MultipleFileField
from fanzha.org.forms import Form, UnitChoiceField, offer_units
from fanzha.org.models import Person, Unit

from .intake import MAX_INDICATORS, MAX_TRANSFERS, CaseInput, IndicatorIn, TransferIn
from .models import (
    CaseState,
    ContactChannel,
    FraudKind,
    FundSource,
    IndicatorKind,
    Outcome,
    Side,
    TransferMethod,
)

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
PICK = [("", _("请选择"))]
# Names of the main form's fields that hold sensitive values: never pre-filled without a reveal.
SENSITIVE_FIELDS = ("victim_phone", "victim_id_number", "family", "fund_sources", "funds_note")


def when_field(label: Any, required: bool = False) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )


def money_field(label: Any) -> forms.CharField:
    """An amount as typed: ``actions.parse_amount`` decides (two decimals, not negative, not absurd)."""
    return forms.CharField(
        label=label, required=False, max_length=30, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )


def intake_unit_field() -> UnitChoiceField:
    """The unit a case is recorded at, in the full intake and the quick one alike."""
    return UnitChoiceField(
        label=_("所属单位"), queryset=Unit.objects.none(), required=False, empty_label=_("请选择")
    )


def _secret_input(**attrs: Any) -> forms.TextInput:
    """A text box the browser neither remembers nor suggests from (sensitive numbers)."""
    return forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", **attrs})


class CaseForm(Form):
    """The intake: who, where, when, how, what was lost, and the victim's circumstances."""

    unit = intake_unit_field()
    victim_number = forms.CharField(
        label=_("受害人学号/工号"),
        required=False,
        max_length=40,
        help_text=_("花名册中的学生、教职工填学号/工号；居民等不在花名册中的，留空并填写姓名。"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "data-person-lookup": ""}),
    )
    victim_name = forms.CharField(label=_("受害人姓名"), required=False, max_length=60)
    victim_phone = forms.CharField(
        label=_("受害人电话"),
        required=False,
        max_length=30,
        widget=_secret_input(type="tel", inputmode="tel"),
    )
    victim_id_number = forms.CharField(
        label=_("受害人身份证号"), required=False, max_length=30, widget=_secret_input()
    )
    occurred_at = when_field(_("发案时间"))
    reported_at = when_field(_("报案时间"))
    place = forms.CharField(label=_("发案地点"), required=False, max_length=200)
    channel = forms.ChoiceField(label=_("接触方式"), required=False, choices=PICK + ContactChannel.choices)
    fraud_type = forms.ChoiceField(label=_("诈骗类型"), required=False, choices=PICK + FraudKind.choices)
    impersonated = forms.CharField(
        label=_("冒充身份"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("如：电商客服、公安民警、辅导员")}),
    )
    narrative = forms.CharField(label=_("简要案情"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    total_loss = forms.CharField(
        label=_("损失金额（元）"),
        required=False,
        max_length=30,
        help_text=_("留空则按转账记录合计。"),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    fund_sources = forms.MultipleChoiceField(
        label=_("资金来源"),
        required=False,
        choices=FundSource.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    funds_note = forms.CharField(label=_("资金来源说明"), required=False, max_length=500)
    family = forms.CharField(
        label=_("家庭情况"), required=False, widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"})
    )
    attachments = MultipleFileField(label=_("附件（截图、聊天记录、转账凭证）"), required=False)
    submit_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    draft = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        units: QuerySet[Unit],
        people: QuerySet[Person],
        with_files: bool = True,
        **kwargs: Any,
    ) -> None:
        """``units``: where the user may record a case; ``people``: whom they may pick as the victim."""
        super().__init__(*args, **kwargs)
        offer_units(self, "unit", units, empty=_("请选择"))
        self.people = people
        if not with_files:
            del self.fields["attachments"]

    def clean(self) -> dict[str, Any]:
        """Find the victim on the roster by number, within the user's scope (and the unit's school)."""
        data = super().clean() or {}
        data["victim"] = None
        number = (data.get("victim_number") or "").strip()
        if number:
            found = self.people.filter(external_number=number, is_active=True)
            unit = data.get("unit")
            if unit is not None:
                found = found.filter(root__path=unit.root_path)
            matches = list(found[:2])
            if not matches:
                self.add_error(
                    "victim_number",
                    _("花名册中没有学号/工号为“%(n)s”的人员，或不在您的管理范围内。") % {"n": number},
                )
            elif len(matches) > 1:
                self.add_error("victim_number", _("有多名人员使用这个学号/工号，请先选择所属单位。"))
            else:
                data["victim"] = matches[0]
        return data

    def case_input(self, transfers: forms.BaseFormSet, indicators: forms.BaseFormSet) -> CaseInput:
        """The ``CaseInput`` of a valid form and its rows (call after ``is_valid``)."""
        d = self.cleaned_data
        return CaseInput(
            unit=d.get("unit"),
            victim=d.get("victim"),
            victim_name=d.get("victim_name") or "",
            victim_phone=d.get("victim_phone") or "",
            victim_id_number=d.get("victim_id_number") or "",
            occurred_at=d.get("occurred_at"),
            reported_at=d.get("reported_at"),
            place=d.get("place") or "",
            channel=d.get("channel") or "",
            fraud_type=d.get("fraud_type") or "",
            impersonated=d.get("impersonated") or "",
            narrative=d.get("narrative") or "",
            total_loss=d.get("total_loss") or None,
            fund_sources=list(d.get("fund_sources") or []),
            funds_note=d.get("funds_note") or "",
            family=d.get("family") or "",
            transfers=transfer_rows(transfers),
            indicators=indicator_rows(indicators),
        )


class TransferForm(Form):
    """One payment: when, how much, how, from which of the victim's accounts, to whom."""

    at = when_field(_("转账时间"))
    amount = money_field(_("金额（元）"))
    method = forms.ChoiceField(label=_("方式"), required=False, choices=PICK + TransferMethod.choices)
    from_account = forms.CharField(
        label=_("付款账户（受害人）"), required=False, max_length=100, widget=_secret_input()
    )
    to_account = forms.CharField(label=_("收款账户"), required=False, max_length=100)
    to_name = forms.CharField(label=_("收款户名/银行"), required=False, max_length=100)


class IndicatorForm(Form):
    """A number, account, URL or app: the suspect's, or one of the victim's own paying accounts."""

    side = forms.ChoiceField(label=_("归属"), choices=Side.choices, initial=Side.SUSPECT)
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=PICK + IndicatorKind.choices)
    value = forms.CharField(label=_("号码/账号/网址"), required=False, max_length=500)
    note = forms.CharField(
        label=_("备注"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("开户行、户名等")}),
    )


TransferFormSet = formset_factory(TransferForm, extra=3, max_num=MAX_TRANSFERS, validate_max=True)
IndicatorFormSet = formset_factory(IndicatorForm, extra=4, max_num=MAX_INDICATORS, validate_max=True)
TRANSFER_PREFIX = "tr"
INDICATOR_PREFIX = "ind"


def transfer_rows(formset: forms.BaseFormSet) -> list[TransferIn]:
    """Every row in its place (empty ones too, which the action skips)."""
    rows = []
    for form in formset.forms:
        d = getattr(form, "cleaned_data", {}) or {}
        rows.append(
            TransferIn(
                at=d.get("at"),
                amount=d.get("amount") or "",
                method=d.get("method") or "",
                from_account=d.get("from_account") or "",
                to_account=d.get("to_account") or "",
                to_name=d.get("to_name") or "",
            )
        )
    return rows


def indicator_rows(formset: forms.BaseFormSet) -> list[IndicatorIn]:
    rows = []
    for form in formset.forms:
        d = getattr(form, "cleaned_data", {}) or {}
        rows.append(
            IndicatorIn(
                kind=d.get("kind") or "",
                value=d.get("value") or "",
                side=d.get("side") or Side.SUSPECT,
                note=d.get("note") or "",
            )
        )
    return rows


def rows_from_draft(data: dict[str, Any], prefix: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """The non-empty rows of a formset as saved in a draft (keys ``<prefix>-<i>-<field>``)."""
    try:
        total = min(int(str(data.get(f"{prefix}-TOTAL_FORMS") or 0)), 200)
    except ValueError:
        total = 0
    rows = []
    for i in range(total):
        row = {f: data.get(f"{prefix}-{i}-{f}", "") for f in fields}
        if any(str(row[f]).strip() for f in fields if f not in ("side", "method")):
            rows.append(row)
    return rows


# Workflow ----------------------------------------------------------------------------------------


class StateForm(Form):
    """A state change of the case page: the police case number to file, the outcome to close."""

    to = forms.ChoiceField(choices=CaseState.choices, widget=forms.HiddenInput)
    police_case_number = forms.CharField(label=_("公安立案编号"), required=False, max_length=40)
    outcome = forms.ChoiceField(label=_("结果"), required=False, choices=PICK + Outcome.choices)
    recovered_amount = money_field(_("追回金额（元）"))
    frozen_amount = forms.CharField(
        label=_("止付冻结金额（元）"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=300)


class AttachForm(Form):
    attachments = MultipleFileField(label=_("添加附件"), required=True)


# The list ----------------------------------------------------------------------------------------


class CaseFilterForm(Form):
    state = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部状态"))] + CaseState.choices
    )
    fraud_type = forms.ChoiceField(
        label=_("诈骗类型"), required=False, choices=[("", _("全部类型"))] + FraudKind.choices
    )
    unit = forms.TypedChoiceField(label=_("单位"), required=False, coerce=int, empty_value=None)
    month = forms.CharField(
        label=_("月份"), required=False, max_length=7, widget=forms.TextInput(attrs={"type": "month"})
    )
    q = forms.CharField(
        label=_("案件编号"),
        required=False,
        max_length=24,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("案件编号")}),
    )

    def __init__(self, *args: Any, units: list[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        top = min((u.depth for u in units), default=1)
        unit_field: Any = self.fields["unit"]
        unit_field.choices = [("", _("全部单位"))] + [
            (u.pk, f"{'　' * max(0, u.depth - top)}{u.name}") for u in units
        ]


# The quick intake (step 1) -----------------------------------------------------------------------

NOT_ON_ROSTER = "new"


class QuickCaseForm(Form):
    """Step 1 of "立即录入": only what the stop-payment alert needs, on one phone screen.

    Why a form of its own: the full intake is four sections; a counsellor with a crying student in
    front of them types the name, the time, the amount and the account, and the alert goes out. The
    rest is filled on the edit page (step 2). It builds the same ``CaseInput`` as ``CaseForm``, so
    ``actions.report_case`` checks and records it exactly as it does a full report.
    """

    unit = intake_unit_field()
    victim_name = forms.CharField(
        label=_("受害人姓名"),
        required=False,
        max_length=60,
        help_text=_("填写姓名；花名册中有同名的人员时，请选出是哪一位。"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    victim = forms.ChoiceField(label=_("是花名册中的哪一位"), required=False, widget=forms.RadioSelect)
    occurred_at = when_field(_("最后一笔转账时间"))
    total_loss = forms.CharField(
        label=_("被骗金额（元）"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    method = forms.ChoiceField(label=_("钱怎么转走的"), required=False, choices=PICK + TransferMethod.choices)
    to_account = forms.CharField(
        label=_("对方收款账户（如知道）"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": _("银行卡号、支付宝或微信账号")}),
    )
    suspect_phone = forms.CharField(
        label=_("对方电话（如知道）"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    fraud_type = forms.ChoiceField(
        label=_("诈骗类型（如知道）"), required=False, choices=[("", _("不清楚"))] + FraudKind.choices
    )
    submit_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args: Any, units: QuerySet[Unit], people: QuerySet[Person], **kwargs: Any) -> None:
        """``units``: where the user may record a case; ``people``: whom they may pick as the victim."""
        super().__init__(*args, **kwargs)
        unit_list = offer_units(self, "unit", units, empty=_("请选择"))
        if len(unit_list) == 1 and not self.is_bound:
            self.initial.setdefault("unit", unit_list[0].pk)
        self.people = people
        self.matches: list[Person] = []
        name = (self.data.get("victim_name") or "").strip() if self.is_bound else ""
        if name:
            self.matches = list(
                people.filter(name=name, is_active=True)
                .select_related("root")
                .order_by("external_number")[:10]
            )
        victim_field: Any = self.fields["victim"]
        victim_field.choices = [(str(p.pk), _person_label(p)) for p in self.matches] + [
            (NOT_ON_ROSTER, _("不在花名册中（按填写的姓名记录）"))
        ]

    def clean(self) -> dict[str, Any]:
        """The victim: one of the same-named people in the user's scope, or a name not on the roster."""
        data = super().clean() or {}
        picked = data.get("victim") or ""
        victim = None
        if self.matches and not picked:
            self.add_error(
                "victim",
                _("花名册中有 %(n)d 位叫“%(name)s”的人员，请选出是哪一位，或选“不在花名册中”。")
                % {"n": len(self.matches), "name": data.get("victim_name", "")},
            )
        elif picked and picked != NOT_ON_ROSTER:
            victim = next((p for p in self.matches if str(p.pk) == picked), None)
        data["victim"] = victim
        if data.get("unit") is None and victim is not None:
            data["unit"] = self._home_unit(victim)
        if not str(data.get("total_loss") or "").strip():
            self.add_error("total_loss", _("请填写被骗金额"))
        if not data.get("method"):
            self.add_error("method", _("请选择转账方式"))
        return data

    def _home_unit(self, person: Person) -> Unit | None:
        """Where a picked victim's case belongs when no unit was chosen: their deepest unit in scope."""
        units: Any = self.fields["unit"].queryset  # type: ignore[attr-defined]
        return units.filter(memberships__person=person).exclude(kind="dorm_room").order_by("-depth").first()

    def case_input(self) -> CaseInput:
        """The ``CaseInput`` of a valid step 1: one transfer (the money lost), the suspect's phone."""
        d = self.cleaned_data
        at = d.get("occurred_at")
        phone = (d.get("suspect_phone") or "").strip()
        return CaseInput(
            unit=d.get("unit"),
            victim=d.get("victim"),
            victim_name=d.get("victim_name") or "",
            occurred_at=at,
            channel=ContactChannel.OTHER,
            fraud_type=d.get("fraud_type") or FraudKind.OTHER,
            total_loss=d.get("total_loss") or None,
            transfers=[
                TransferIn(
                    at=at,
                    amount=d.get("total_loss") or "",
                    method=d.get("method") or "",
                    to_account=d.get("to_account") or "",
                )
            ],
            indicators=[IndicatorIn(IndicatorKind.PHONE, phone)] if phone else [],
        )


def _person_label(person: Person) -> str:
    """A same-named person told apart without showing sensitive numbers: kind, number, organisation."""
    parts = [person.name, person.get_kind_display()]
    if person.external_number:
        parts.append(person.external_number)
    parts.append(person.root.name)
    return " · ".join(str(p) for p in parts)
