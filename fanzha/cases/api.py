"""REST API of the case ledger: cases, their timeline and state changes, the stop-payment alerts.

Thin like the rest of the API: querysets come from ``queries`` (through ``ScopedViewSet``),
writes from the verbs of ``actions`` and ``alerts.actions``, which check permission themselves.
A response never carries the victim's phone or ID number, family situation, source of funds
or own accounts, not even masked: the victim's name is masked, and only the suspect's side of
the evidence (numbers, accounts, URLs the police work with) is shown. Those sensitive values
are write-only inputs of a new case; reading them is ``actions.reveal_case``'s job, on a page
that audits it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import django_filters
from django.db.models import Case as SqlCase
from django.db.models import IntegerField, Prefetch, QuerySet, Value, When
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fanzha.api.fields import ScopedRelatedField
from fanzha.api.viewsets import ScopedViewSet, django_errors_as_400
from fanzha.org.api import IntegerFilter
from fanzha.org.models import Person, Unit
from fanzha.org.scope import Cap, people_for, units_for

from . import actions
from . import intake as cases_intake
from .cardfraud import queries as cardfraud
from .models import (
    Alert,
    CardHandling,
    Case,
    CaseEvent,
    CaseState,
    ContactChannel,
    FraudKind,
    FundSource,
    Indicator,
    IndicatorKind,
    Outcome,
    Side,
    Transfer,
    TransferMethod,
)
from .queries import alerts_for, cases_for
from .stats import queries as stats

IDEMPOTENCY_HEADER = "Idempotency-Key"


def scoped_cases(user: Any, cap: Cap = Cap.CASE_VIEW) -> QuerySet[Case]:
    """``queries.cases_for`` for the API base, whose reads ask for ``Cap.VIEW``: a case read needs
    ``CASE_VIEW``, the ledger's own reading right."""
    return cases_for(user, Cap.CASE_VIEW if cap == Cap.VIEW else cap)


def scoped_alerts(user: Any, cap: Cap = Cap.CASE_VIEW) -> QuerySet[Alert]:
    """``queries.alerts_for``, with ``Cap.VIEW`` read as ``CASE_VIEW`` (see ``scoped_cases``)."""
    return alerts_for(user, Cap.CASE_VIEW if cap == Cap.VIEW else cap)


def actor_name(user: Any) -> str:
    """Who did something, as the timeline shows it: the person's name, else the login."""
    if user is None:
        return ""
    person = getattr(user, "person", None)
    return person.name if person is not None else user.get_username()


# ---------------------------------------------------------------------------- read serializers


class IndicatorSerializer(serializers.Serializer):
    """A phone number, account, URL or app of a case. Reads list the suspect's side only; ``side``
    is write-only, and a victim-side value (the victim's own paying account) is never read back.

    One serializer for reading and writing, so the schema has one "kind" enum for both.
    """

    kind = serializers.ChoiceField(choices=IndicatorKind.choices)
    value = serializers.CharField(max_length=500)
    side = serializers.ChoiceField(
        choices=Side.choices,
        default=Side.SUSPECT,
        write_only=True,
        help_text=gettext_lazy("victim：受害人本人的付款账户（只写，加密保存）"),
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class TransferSerializer(serializers.ModelSerializer):
    """A payment the victim made; which of the victim's accounts it left from is not shown."""

    class Meta:
        model = Transfer
        fields = ["at", "amount", "method", "to_account", "to_name"]


class CaseSerializer(serializers.ModelSerializer):
    """A case as lists show it: the victim's name masked, no sensitive detail."""

    victim_name = serializers.CharField(source="victim_masked_name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    alert_status = serializers.SerializerMethodField(
        help_text=gettext_lazy("止付预警状态：open / acknowledged / resolved；未预警时为空")
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "number",
            "unit",
            "unit_name",
            "state",
            "outcome",
            "victim_name",
            "occurred_at",
            "reported_at",
            "channel",
            "fraud_type",
            "total_loss",
            "frozen_amount",
            "recovered_amount",
            "reported_via",
            "alert_status",
            "closed_at",
        ]
        read_only_fields = fields

    def get_alert_status(self, case: Case) -> str | None:
        return case.alert.status if hasattr(case, "alert") else None


class CaseDetailSerializer(CaseSerializer):
    """One case with its suspect-side evidence, transfers and the moves the caller may make now."""

    indicators = IndicatorSerializer(source="suspect_indicators", many=True, read_only=True)
    transfers = TransferSerializer(many=True, read_only=True)
    allowed_transitions = serializers.SerializerMethodField(
        help_text=gettext_lazy("当前用户现在可以把案件改成的状态")
    )

    class Meta(CaseSerializer.Meta):
        fields = [
            *CaseSerializer.Meta.fields,
            "place",
            "impersonated",
            "narrative",
            "last_transfer_at",
            "police_case_number",
            "created_at",
            "updated_at",
            "indicators",
            "transfers",
            "allowed_transitions",
        ]
        read_only_fields = fields

    def get_allowed_transitions(self, case: Case) -> list[str]:
        return actions.allowed_transitions(case, self.context["request"].user)


class CaseEventSerializer(serializers.ModelSerializer):
    """One line of the case's timeline; ``detail`` names fields, never their values."""

    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "state_before", "state_after", "actor_name", "at", "detail"]
        read_only_fields = fields

    def get_actor_name(self, event: CaseEvent) -> str:
        return actor_name(event.actor)


class AlertSerializer(serializers.ModelSerializer):
    """A stop-payment alert with its case's number and unit, and how fast the police answered."""

    case_number = serializers.CharField(source="case.number", read_only=True)
    unit = serializers.IntegerField(source="case.unit_id", read_only=True)
    unit_name = serializers.CharField(source="case.unit.name", read_only=True)
    total_loss = serializers.DecimalField(
        source="case.total_loss", max_digits=14, decimal_places=2, read_only=True
    )
    acknowledged_by_name = serializers.SerializerMethodField()
    seconds_to_ack = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "case",
            "case_number",
            "unit",
            "unit_name",
            "total_loss",
            "status",
            "tier",
            "raised_at",
            "next_escalation_at",
            "acknowledged_at",
            "acknowledged_by_name",
            "seconds_to_ack",
            "resolved_at",
            "outcome_note",
            "ended_at",
        ]
        read_only_fields = fields

    def get_acknowledged_by_name(self, alert: Alert) -> str:
        return actor_name(alert.acknowledged_by)


# ---------------------------------------------------------------------------- write serializers


class TransferInSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    method = serializers.ChoiceField(choices=TransferMethod.choices)
    from_account = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("受害人付款账户（只写，加密保存）"),
    )
    to_account = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    to_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


def _write_only(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(write_only=True, required=False, allow_blank=True, default="", **kwargs)


class CaseCreateSerializer(serializers.Serializer):
    """A new case: the intake as ``cases_intake.CaseInput``; the verb validates it as a whole.

    ``victim_phone``, ``victim_id_number``, ``family``, ``fund_sources``, ``funds_note`` and the
    victim-side indicators and ``from_account`` are write-only: no response ever carries them.
    """

    unit = ScopedRelatedField(model=Unit, scope=units_for, write_cap=Cap.CASE_EDIT)
    victim = ScopedRelatedField(
        model=Person,
        scope=people_for,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("花名册中的受害人 id；不在花名册中时填 victim_name"),
    )
    victim_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    victim_phone = _write_only(max_length=32)
    victim_id_number = _write_only(max_length=32)
    occurred_at = serializers.DateTimeField()
    reported_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(choices=ContactChannel.choices)
    fraud_type = serializers.ChoiceField(choices=FraudKind.choices)
    impersonated = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    narrative = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    total_loss = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        allow_null=True,
        default=None,
        help_text=gettext_lazy("损失金额；不填时为各笔转账之和"),
    )
    fund_sources = serializers.ListField(
        child=serializers.ChoiceField(choices=FundSource.choices),
        write_only=True,
        required=False,
        default=list,
    )
    funds_note = _write_only(max_length=500)
    family = _write_only(max_length=2000)
    indicators = IndicatorSerializer(many=True, required=False, default=list)
    transfers = TransferInSerializer(many=True, required=False, default=list)
    submit_token = serializers.CharField(
        max_length=200,
        write_only=True,
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("幂等键（也可用请求头 Idempotency-Key）：重复提交只登记一次"),
    )

    def to_input(self) -> cases_intake.CaseInput:
        """The validated body as the verb's input."""
        d = self.validated_data
        return cases_intake.CaseInput(
            unit=d["unit"],
            victim=d.get("victim"),
            victim_name=d["victim_name"],
            victim_phone=d["victim_phone"],
            victim_id_number=d["victim_id_number"],
            occurred_at=d["occurred_at"],
            reported_at=d["reported_at"],
            place=d["place"],
            channel=d["channel"],
            fraud_type=d["fraud_type"],
            impersonated=d["impersonated"],
            narrative=d["narrative"],
            total_loss=d["total_loss"],
            fund_sources=list(d["fund_sources"]),
            funds_note=d["funds_note"],
            family=d["family"],
            indicators=[
                cases_intake.IndicatorIn(i["kind"], i["value"], i["side"], i["note"]) for i in d["indicators"]
            ],
            transfers=[
                cases_intake.TransferIn(
                    t["at"], t["amount"], t["method"], t["from_account"], t["to_account"], t["to_name"]
                )
                for t in d["transfers"]
            ],
        )


class TransitionSerializer(serializers.Serializer):
    """The state to move a case to, with what that move needs (filing: the police case number;
    closing: the outcome and the amounts)."""

    state = serializers.ChoiceField(choices=CaseState.choices, help_text=gettext_lazy("要改成的状态"))
    police_case_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, allow_blank=True, default="")
    frozen_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, default=None
    )
    recovered_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, default=None
    )
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AcknowledgeSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


# ---------------------------------------------------------------------------- filters


def _visible_unit(request: Request | None, pk: int) -> Unit | None:
    return units_for(getattr(request, "user", None)).filter(pk=pk).first()


class CaseFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=CaseState.choices)
    fraud_type = django_filters.ChoiceFilter(choices=FraudKind.choices)
    unit = IntegerFilter(method="filter_unit", label=gettext_lazy("单位 id：该单位及其全部下级"))
    reported_at = django_filters.IsoDateTimeFromToRangeFilter(
        label=gettext_lazy("报案时间范围：reported_at_after / reported_at_before（ISO 8601）")
    )

    class Meta:
        model = Case
        fields = ["state", "fraud_type"]

    def filter_unit(self, queryset: QuerySet[Case], name: str, value: int) -> QuerySet[Case]:
        unit = _visible_unit(self.request, value)
        return queryset.filter(unit.subtree_q("unit__")) if unit else queryset.none()


class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Alert.Status.choices)

    class Meta:
        model = Alert
        fields = ["status"]


# ---------------------------------------------------------------------------- viewsets


def _token(request: Request, body_token: str) -> str:
    """The idempotency key of a create, made the caller's own: the same key from two users is two
    different submits, so one user's retry can never answer with another user's case."""
    raw = (request.headers.get(IDEMPOTENCY_HEADER) or body_token or "").strip()
    if not raw:
        return ""
    return hashlib.sha256(f"api:{request.user.pk}:{raw}".encode()).hexdigest()


@extend_schema_view(
    create=extend_schema(
        request=CaseCreateSerializer,
        responses={201: CaseDetailSerializer, 200: CaseDetailSerializer},
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=False,
                description=gettext_lazy("重复提交同一个键只登记一个案件（第二次返回 200 和第一次的案件）"),
            )
        ],
    ),
    transition=extend_schema(request=TransitionSerializer, responses=CaseDetailSerializer),
    events=extend_schema(responses=CaseEventSerializer(many=True)),
)
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Cases in units inside your scope, newest report first. A create records a case through the
    intake verb (an alert is raised when money moved within the stop-payment window)."""

    scope = staticmethod(scoped_cases)
    write_cap = Cap.CASE_EDIT
    queryset = Case.objects.none()
    serializer_class = CaseSerializer
    output_serializer_class = CaseDetailSerializer
    filterset_class = CaseFilter

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # The police side's moves need the police capability on the case (403 before any 400).
        self.write_cap = Cap.CASE_POLICE if self.action == "transition" else Cap.CASE_EDIT
        super().initial(request, *args, **kwargs)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        by_action: dict[str, type[serializers.BaseSerializer]] = {
            "retrieve": CaseDetailSerializer,
            "create": CaseCreateSerializer,
            "transition": TransitionSerializer,
            "events": CaseEventSerializer,
        }
        return by_action.get(self.action or "", CaseSerializer)

    def optimise(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = queryset.select_related("unit", "alert").order_by("-reported_at", "-id")
        if self.action != "list":
            suspects = Indicator.objects.filter(side=Side.SUSPECT).order_by("pk")
            queryset = queryset.prefetch_related(
                Prefetch("indicators", queryset=suspects, to_attr="suspect_indicators"), "transfers"
            )
        return queryset

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # What Django's sensitive_post_parameters() sets (it refuses DRF's Request): an error report
        # of this request shows none of the posted values.
        request._request.sensitive_post_parameters = "__ALL__"  # type: ignore[attr-defined]
        serializer = CaseCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        token = _token(request, serializer.validated_data["submit_token"])
        replay = bool(token) and Case.objects.filter(submit_token=token).exists()
        with django_errors_as_400():
            case = actions.report_case(serializer.to_input(), request.user, submit_token=token)
        try:
            return self.respond(case, status.HTTP_200_OK if replay else status.HTTP_201_CREATED)
        except Case.DoesNotExist as exc:  # recorded, but in a unit the caller may not read
            raise exceptions.NotFound() from exc

    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = serializer.validated_data
        with django_errors_as_400():
            actions.change_state(
                case,
                d["state"],
                request.user,
                police_case_number=d["police_case_number"],
                outcome=d["outcome"],
                frozen_amount=d["frozen_amount"],
                recovered_amount=d["recovered_amount"],
                note=d["note"],
            )
        return self.respond(case)

    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def events(self, request: Request, pk: str | None = None) -> Response:
        case = self.get_object()
        events = CaseEvent.objects.filter(case=case).select_related("actor__person").order_by("at", "id")
        return Response(CaseEventSerializer(events, many=True).data)


@extend_schema_view(acknowledge=extend_schema(request=AcknowledgeSerializer, responses=AlertSerializer))
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Stop-payment alerts of cases inside your scope: open ones first, newest first.
    Acknowledging is the police side's (``CASE_POLICE``)."""

    scope = staticmethod(scoped_alerts)
    write_cap = Cap.CASE_POLICE
    queryset = Alert.objects.none()
    serializer_class = AlertSerializer
    output_serializer_class = AlertSerializer
    filterset_class = AlertFilter

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return AcknowledgeSerializer if self.action == "acknowledge" else AlertSerializer

    def optimise(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        open_first = SqlCase(
            When(status=Alert.Status.OPEN, then=Value(0)),
            When(status=Alert.Status.ACKNOWLEDGED, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        return (
            queryset.select_related("case__unit", "acknowledged_by__person")
            .annotate(rank=open_first)
            .order_by("rank", "-raised_at", "-id")
        )

    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        from .alerts.actions import acknowledge_alert

        alert = self.get_object()
        serializer = AcknowledgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with django_errors_as_400():
            acknowledge_alert(alert, request.user, note=serializer.validated_data["note"])
        return self.respond(alert)


# Statistics -----------------------------------------------------------------------------------------
#
# The figures of the statistics page (/cases/stats/) for machines: the cases and losses of a unit's
# subtree in a year or a month, by child unit and by type, and the students involved with cards by
# handling and by unit. Counts only: nothing here names a victim or a student.


class StatsUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class StatsCaseUnitSerializer(StatsUnitSerializer):
    own = serializers.BooleanField(help_text=gettext_lazy("本级登记（不含下级单位）"))
    cases = serializers.IntegerField()
    loss = serializers.DecimalField(max_digits=14, decimal_places=2)


class StatsTypeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    cases = serializers.IntegerField()
    loss = serializers.DecimalField(max_digits=14, decimal_places=2)


class StatsCasesSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    loss = serializers.DecimalField(max_digits=14, decimal_places=2)
    count_year_before = serializers.IntegerField()
    count_previous = serializers.IntegerField()
    by_unit = StatsCaseUnitSerializer(many=True)
    by_type = StatsTypeSerializer(many=True)


class CardTotalsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text=gettext_lazy("登记记录数"))
    students = serializers.IntegerField(help_text=gettext_lazy("涉及学生数"))
    bank = serializers.IntegerField()
    phone = serializers.IntegerField()
    pending = serializers.IntegerField()
    police = serializers.IntegerField()
    educated = serializers.IntegerField()


class CardHandlingSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=CardHandling.choices)
    name = serializers.CharField()
    count = serializers.IntegerField()


class CardUnitSerializer(StatsUnitSerializer):
    own = serializers.BooleanField()
    total = serializers.IntegerField()
    educated = serializers.IntegerField()
    handling = serializers.DictField(child=serializers.IntegerField())


class CardStatsSerializer(serializers.Serializer):
    totals = CardTotalsSerializer()
    by_handling = CardHandlingSerializer(many=True)
    by_unit = CardUnitSerializer(many=True)


class StatsSerializer(serializers.Serializer):
    unit = StatsUnitSerializer()
    year = serializers.IntegerField()
    month = serializers.IntegerField(allow_null=True)
    first = serializers.DateField()
    last = serializers.DateField()
    cases = StatsCasesSerializer()
    card_fraud = CardStatsSerializer()


def _unit_json(unit: Unit) -> dict[str, Any]:
    return {"id": unit.pk, "code": unit.code, "name": unit.name}


class StatsView(APIView):
    """The statistics of a unit in your case scope (``unit``, default where your scope begins), for a
    year (``year``, default this year) or a month (``month``): cases and losses by child unit and type,
    and the students involved with cards (涉“两卡”) by handling and unit. Counts only, no names. A unit
    outside the scope answers 404 like a missing one."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("unit", int, description=gettext_lazy("单位 ID（默认：权限范围的起点）")),
            OpenApiParameter("year", int, description=gettext_lazy("年份（默认：今年）")),
            OpenApiParameter("month", int, description=gettext_lazy("月份 1–12（默认：全年）")),
        ],
        responses=StatsSerializer,
    )
    def get(self, request: Request) -> Response:
        unit = stats.scoped_unit(request.user, str(request.query_params.get("unit", "")))
        if unit is None:
            raise exceptions.NotFound()
        year, month = stats.period_of(request.query_params)
        report = stats.report(stats.unit_cases(request.user, unit), unit, year, month)
        period = report.period
        cards = cardfraud.figures(cardfraud.records_for(request.user), unit, period.first, period.last)
        change = report.change
        data = {
            "unit": _unit_json(unit),
            "year": year,
            "month": month,
            "first": period.first,
            "last": period.last,
            "cases": {
                "count": change.current.cases,
                "loss": change.current.loss,
                "count_year_before": change.year_before.cases,
                "count_previous": change.previous.cases,
                "by_unit": [
                    {**_unit_json(r.unit), "own": r.own, "cases": r.tally.cases, "loss": r.tally.loss}
                    for r in report.units
                ],
                "by_type": [
                    {"code": t.code, "name": t.label, "cases": t.tally.cases, "loss": t.tally.loss}
                    for t in report.types
                ],
            },
            "card_fraud": {
                "totals": cards.totals,
                "by_handling": [{"code": c, "name": label, "count": n} for c, label, n in cards.handling],
                "by_unit": [
                    {**_unit_json(r.unit), "own": r.own, "total": r.total, "educated": r.educated}
                    | {"handling": r.handling}
                    for r in cards.units
                ],
            },
        }
        return Response(StatsSerializer(data).data)
