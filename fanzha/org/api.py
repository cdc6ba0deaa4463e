"""REST API of the organisation grid: units, people and memberships.

Thin by design: querysets come from ``scope`` (through ``ScopedViewSet``), writes from
``actions``; serializers only validate. Phone and ID numbers are write-only inputs: a
response only ever carries their masked forms.
"""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from fanzha.api.fields import ScopedRelatedField
from fanzha.api.viewsets import (
    ScopedCreateMixin,
    ScopedDestroyMixin,
    ScopedUpdateMixin,
    ScopedViewSet,
    django_errors_as_400,
)
from fanzha.core.identifiers import normalize_id_number, normalize_phone

from . import actions
from .models import Membership, MembershipRole, Person, PersonKind, Unit, UnitKind, User
from .scope import Cap, memberships_for, people_for, units_for


class IntegerFilter(django_filters.NumberFilter):
    """An integer such as an id or a depth (``NumberFilter`` would give a ``Decimal``)."""

    field_class = forms.IntegerField


def _visible_unit(request: Request | None, pk: int) -> Unit | None:
    """The unit with ``pk`` if the caller may see it; a filter on an invisible unit matches nothing."""
    user = getattr(request, "user", None)
    return units_for(user).filter(pk=pk).first()


# ---------------------------------------------------------------------------- units


class UnitSerializer(serializers.ModelSerializer):
    """A unit as read; ``name`` and ``code`` are what an update may change."""

    # ``parent`` is also a Field attribute, which the serializer metaclass lets a declared field shadow.
    parent = serializers.IntegerField(  # type: ignore[assignment]
        source="visible_parent_id",
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("上级单位 id；是根单位或上级不在你的权限范围内时为空"),
    )
    children_count = serializers.IntegerField(source="numchild", read_only=True)

    class Meta:
        model = Unit
        fields = ["id", "name", "code", "kind", "parent", "path", "depth", "is_active", "children_count"]
        read_only_fields = ["kind", "path", "depth", "is_active"]

    def update(self, instance: Unit, validated_data: dict[str, Any]) -> Unit:
        return actions.rename_unit(
            instance,
            name=validated_data.get("name"),
            code=validated_data.get("code"),
            actor=self.context["request"].user,
        )


class UnitCreateSerializer(serializers.Serializer):
    """A new unit under a parent that the caller may edit."""

    parent = ScopedRelatedField(model=Unit, scope=units_for, write_cap=Cap.EDIT_UNITS)  # type: ignore[assignment]
    name = serializers.CharField(max_length=120)
    code = serializers.CharField(max_length=40)
    kind = serializers.ChoiceField(choices=UnitKind.choices)

    def create(self, validated_data: dict[str, Any]) -> Unit:
        return actions.create_unit(actor=self.context["request"].user, **validated_data)


class UnitMoveSerializer(serializers.Serializer):
    """The new parent of a unit; it must be inside the caller's edit scope."""

    parent = ScopedRelatedField(model=Unit, scope=units_for, write_cap=Cap.EDIT_UNITS)  # type: ignore[assignment]


class UnitFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=UnitKind.choices)
    depth = IntegerFilter()
    parent = IntegerFilter(method="filter_parent", label=gettext_lazy("直接上级单位 id"))
    under = IntegerFilter(method="filter_under", label=gettext_lazy("单位 id：该单位及其全部下级"))
    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("名称、代码或拼音首字母"))

    class Meta:
        model = Unit
        fields = ["kind", "depth"]

    def filter_parent(self, queryset: QuerySet[Unit], name: str, value: int) -> QuerySet[Unit]:
        unit = _visible_unit(self.request, value)
        return queryset.filter(parent_path=unit.path) if unit else queryset.none()

    def filter_under(self, queryset: QuerySet[Unit], name: str, value: int) -> QuerySet[Unit]:
        unit = _visible_unit(self.request, value)
        return queryset.filter(unit.subtree_q()) if unit else queryset.none()

    def filter_q(self, queryset: QuerySet[Unit], name: str, value: str) -> QuerySet[Unit]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(code__icontains=value) | Q(initials__startswith=value.lower())
        )


@extend_schema_view(
    create=extend_schema(request=UnitCreateSerializer, responses={201: UnitSerializer}),
    move=extend_schema(request=UnitMoveSerializer, responses=UnitSerializer),
)
class UnitViewSet(
    ScopedCreateMixin,
    ScopedUpdateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ScopedViewSet,
):
    """Units of the grid inside your scope. Create needs a parent you may edit; move takes a new parent."""

    scope = staticmethod(units_for)
    write_cap = Cap.EDIT_UNITS
    queryset = Unit.objects.none()
    serializer_class = UnitSerializer
    output_serializer_class = UnitSerializer
    filterset_class = UnitFilter

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "create":
            return UnitCreateSerializer
        if self.action == "move":
            return UnitMoveSerializer
        return UnitSerializer

    def optimise(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # The parent id comes from the same query, and only when the parent is visible too.
        parent = units_for(self.request.user).filter(path=OuterRef("parent_path")).values("pk")[:1]
        return queryset.annotate(visible_parent_id=Subquery(parent)).order_by("path")

    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        unit = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with django_errors_as_400():
            actions.move_unit(unit, serializer.validated_data["parent"], actor=cast(User, request.user))
        return self.respond(unit)


# ---------------------------------------------------------------------------- people


class PersonSerializer(serializers.ModelSerializer):
    """A person; phone and ID number go in plain (write-only) and come out masked only."""

    phone = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=32,
        help_text=gettext_lazy("手机号（只写；读出时只有脱敏的 phone_masked）；空串清除"),
    )
    id_number = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=32,
        help_text=gettext_lazy("身份证号（只写；读出时只有脱敏的 id_number_masked）；空串清除"),
    )
    unit = ScopedRelatedField(
        model=Unit,
        scope=units_for,
        write_cap=Cap.EDIT_PEOPLE,
        write_only=True,
        required=False,
        help_text=gettext_lazy("新建时必填：此人加入的单位"),
    )
    role = serializers.ChoiceField(
        choices=MembershipRole.choices,
        write_only=True,
        required=False,
        help_text=gettext_lazy("新建时在该单位的角色，默认成员"),
    )

    class Meta:
        model = Person
        fields = [
            "id",
            "name",
            "kind",
            "external_number",
            "gender",
            "birth_year",
            "enrolment_year",
            "is_active",
            "phone_masked",
            "id_number_masked",
            "phone",
            "id_number",
            "unit",
            "role",
        ]
        read_only_fields = ["phone_masked", "id_number_masked"]

    def validate_phone(self, value: str) -> str:
        return normalize_phone(value) if value.strip() else ""

    def validate_id_number(self, value: str) -> str:
        return normalize_id_number(value) if value.strip() else ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and "unit" not in attrs:
            raise serializers.ValidationError({"unit": _("新建人员时必须指定所在单位")})
        if self.instance is not None and ("unit" in attrs or "role" in attrs):
            raise serializers.ValidationError({"unit": _("人员所在单位请通过成员关系接口修改")})
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Person:
        unit = validated_data.pop("unit")
        role = validated_data.pop("role", MembershipRole.MEMBER)
        return actions.enrol_person(unit=unit, role=role, **validated_data)

    def update(self, instance: Person, validated_data: dict[str, Any]) -> Person:
        return actions.save_person(root=instance.root, person=instance, **validated_data)


class PersonFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=PersonKind.choices)
    external_number = django_filters.CharFilter()
    unit = IntegerFilter(method="filter_unit", label=gettext_lazy("单位 id：该单位及其下级的成员"))
    q = django_filters.CharFilter(method="filter_q", label=gettext_lazy("姓名、编号或拼音首字母"))

    class Meta:
        model = Person
        fields = ["kind", "external_number"]

    def filter_unit(self, queryset: QuerySet[Person], name: str, value: int) -> QuerySet[Person]:
        unit = _visible_unit(self.request, value)
        if unit is None:
            return queryset.none()
        member = Membership.objects.filter(unit.subtree_q("unit__"), person=OuterRef("pk"))
        return queryset.filter(Exists(member))

    def filter_q(self, queryset: QuerySet[Person], name: str, value: str) -> QuerySet[Person]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(external_number__startswith=value)
            | Q(initials__startswith=value.lower())
        )


class PersonViewSet(
    ScopedCreateMixin,
    ScopedUpdateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ScopedViewSet,
):
    """People inside your scope. A new person joins the unit given in ``unit``."""

    scope = staticmethod(people_for)
    write_cap = Cap.EDIT_PEOPLE
    queryset = Person.objects.none()
    serializer_class = PersonSerializer
    filterset_class = PersonFilter


# ---------------------------------------------------------------------------- memberships


class MembershipSerializer(serializers.ModelSerializer):
    """A person's place in a unit; both must be inside the caller's edit scope to create one."""

    person = ScopedRelatedField(model=Person, scope=people_for, write_cap=Cap.EDIT_PEOPLE)
    unit = ScopedRelatedField(model=Unit, scope=units_for, write_cap=Cap.EDIT_PEOPLE)
    person_name = serializers.CharField(source="person.name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "person", "person_name", "unit", "unit_name", "role", "created_at"]
        read_only_fields = ["created_at"]
        # add_membership is idempotent: asking twice answers with the existing membership.
        validators: list[Any] = []

    def create(self, validated_data: dict[str, Any]) -> Membership:
        role = validated_data.get("role", MembershipRole.MEMBER)
        return actions.add_membership(validated_data["person"], validated_data["unit"], role)


class MembershipFilter(django_filters.FilterSet):
    person = IntegerFilter(field_name="person_id")
    unit = IntegerFilter(field_name="unit_id")
    role = django_filters.ChoiceFilter(choices=MembershipRole.choices)
    under = IntegerFilter(method="filter_under", label=gettext_lazy("单位 id：该单位及其下级的成员关系"))

    class Meta:
        model = Membership
        fields = ["role"]

    def filter_under(self, queryset: QuerySet[Membership], name: str, value: int) -> QuerySet[Membership]:
        unit = _visible_unit(self.request, value)
        return queryset.filter(unit.subtree_q("unit__")) if unit else queryset.none()


class MembershipViewSet(
    ScopedCreateMixin,
    ScopedDestroyMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ScopedViewSet,
):
    """Memberships in units inside your scope."""

    scope = staticmethod(memberships_for)
    write_cap = Cap.EDIT_PEOPLE
    queryset = Membership.objects.none()
    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter

    def optimise(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.select_related("person", "unit").order_by("pk")

    def perform_destroy(self, instance: Membership) -> None:  # type: ignore[override]
        actions.remove_membership(instance)
