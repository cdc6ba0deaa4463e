"""Serializer fields that resolve ids through the scope layer."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import exceptions, serializers

from fanzha.org.scope import Cap

from .viewsets import ScopeFn


class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key looked up in the caller's VIEW scope; with ``write_cap``, also checked for writing.

    An id outside the scope gets the same "does not exist" answer as a missing id (400);
    a visible object the caller may not change refuses the whole request (403).
    """

    def __init__(self, *, model: type[Model], scope: ScopeFn, write_cap: Cap | None = None, **kwargs: Any):
        self.scope = scope
        self.write_cap = write_cap
        # The queryset only tells the schema generator the model; lookups use get_queryset().
        kwargs.setdefault("queryset", model._default_manager.none())
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        return self.scope(self.context["request"].user, Cap.VIEW)

    def to_internal_value(self, data: Any) -> Any:
        obj = super().to_internal_value(data)
        if self.write_cap is not None:
            user = self.context["request"].user
            if not self.scope(user, self.write_cap).filter(pk=obj.pk).exists():
                raise exceptions.PermissionDenied()
        return obj
