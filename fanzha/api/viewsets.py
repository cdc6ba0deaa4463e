"""The base of every API viewset: querysets come from the scope layer, never from the viewset.

Each viewset names one scope function (``units_for``, ``people_for`` …) and the capability
its writes need. Reads and writes look objects up in the VIEW scope, so anything outside it
answers 404 exactly like a missing object; a visible object that the caller may not change
answers 403. Writes go through ``actions``; a Django ``ValidationError`` raised there becomes
a 400 with the same messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework import exceptions, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from fanzha.org.scope import Cap, scope_paths

ScopeFn = Callable[[Any, Cap], QuerySet[Any]]


@contextmanager
def django_errors_as_400() -> Iterator[None]:
    """Turn a Django ``ValidationError`` from an action into a DRF 400 with the same messages."""
    try:
        yield
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            detail: Any = exc.message_dict
        else:
            detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
        raise serializers.ValidationError(detail) from exc


class ScopedWritePermission(permissions.BasePermission):
    """Writes need the viewset's write capability: somewhere for a create, on the object otherwise.

    Why a create is only checked for "somewhere" here: its target comes from the request body,
    which ``ScopedRelatedField`` resolves (invisible → 400 like a missing id, visible but not
    writable → 403).
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        if getattr(view, "action", None) is None:
            return True  # a method the route does not offer: let it answer 405
        if not getattr(view, "detail", False):
            return bool(scope_paths(request.user, view.write_cap))  # type: ignore[attr-defined]
        return True

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        scoped: ScopeFn = type(view).scope  # type: ignore[attr-defined]
        return scoped(request.user, view.write_cap).filter(pk=obj.pk).exists()  # type: ignore[attr-defined]


class ScopedViewSet(viewsets.GenericViewSet):
    """A viewset whose objects are ``scope(user, Cap.VIEW)``; subclasses set ``scope`` and ``write_cap``.

    ``output_serializer_class`` renders the object after a write, re-read through the scoped
    queryset so a write answers in the same shape as a read.
    """

    scope: ScopeFn
    write_cap: Cap
    output_serializer_class: type[serializers.BaseSerializer] | None = None
    permission_classes = [permissions.IsAuthenticated, ScopedWritePermission]

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset.none()  # type: ignore[union-attr]
        return self.optimise(type(self).scope(self.request.user, Cap.VIEW))

    def get_object(self) -> Any:
        """The object from the scoped queryset; missing and out-of-scope give the same 404 body."""
        try:
            return super().get_object()
        except Http404 as exc:
            raise exceptions.NotFound() from exc

    def optimise(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Add ordering, joins and annotations so a list page costs a fixed number of queries."""
        return queryset.order_by("pk")

    def respond(self, instance: Model, code: int = status.HTTP_200_OK) -> Response:
        """Render ``instance`` as a read would, after a write."""
        fresh = self.get_queryset().get(pk=instance.pk)
        serializer_class = self.output_serializer_class or self.get_serializer_class()
        return Response(serializer_class(fresh, context=self.get_serializer_context()).data, status=code)


class ScopedCreateMixin:
    """POST to the list: validate, call the action through ``serializer.save()``, answer 201."""

    def create(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with django_errors_as_400():
            instance = serializer.save()
        return self.respond(instance, status.HTTP_201_CREATED)


class ScopedUpdateMixin:
    """PUT and PATCH on an object in scope (404 outside, 403 without the write capability)."""

    def update(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        with django_errors_as_400():
            instance = serializer.save()
        return self.respond(instance)

    def partial_update(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)


class ScopedDestroyMixin:
    """DELETE on an object in scope; the viewset's ``perform_destroy`` calls the action."""

    def destroy(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        with django_errors_as_400():
            self.perform_destroy(instance)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_destroy(self, instance: Model) -> None:
        raise NotImplementedError("a viewset that deletes must call its action here")
