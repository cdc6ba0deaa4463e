"""One paginator for every list page: the page and the links to its neighbours, filters kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest


@dataclass
class Paged:
    """A page of a list and the links to the previous and next pages ("" at either end)."""

    page: Page[Any]
    prev_url: str
    next_url: str


class _Counted(Paginator):  # type: ignore[type-arg]
    """A paginator told how to count its items (see ``paginate``)."""

    def __init__(self, items: Any, size: int, count: Callable[[], int]) -> None:
        super().__init__(items, size)
        self._count = count

    @property
    def count(self) -> int:  # type: ignore[override]
        if not hasattr(self, "_counted"):
            self._counted = self._count()
        return self._counted


def paginate(
    request: HttpRequest, items: Any, size: int, param: str = "page", count: Callable[[], int] | None = None
) -> Paged:
    """Page ``items`` by ``size``; the links keep every other query parameter (the list's filters).

    ``count``: how to count the items when ``items.count()`` would be slow (a scope over a million
    people counts faster by another query than the one that pages them in order)."""
    paginator = Paginator(items, size) if count is None else _Counted(items, size, count)
    page = paginator.get_page(request.GET.get(param))
    query = request.GET.copy()

    def link(number: int) -> str:
        query[param] = str(number)
        return "?" + query.urlencode()

    return Paged(
        page=page,
        prev_url=link(page.previous_page_number()) if page.has_previous() else "",
        next_url=link(page.next_page_number()) if page.has_next() else "",
    )
