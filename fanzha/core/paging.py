"""One paginator for every list page: the page and the links to its neighbours, filters kept."""

from __future__ import annotations

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


def paginate(request: HttpRequest, items: Any, size: int, param: str = "page") -> Paged:
    """Page ``items`` by ``size``; the links keep every other query parameter (the list's filters)."""
    page = Paginator(items, size).get_page(request.GET.get(param))
    query = request.GET.copy()

    def link(number: int) -> str:
        query[param] = str(number)
        return "?" + query.urlencode()

    return Paged(
        page=page,
        prev_url=link(page.previous_page_number()) if page.has_previous() else "",
        next_url=link(page.next_page_number()) if page.has_next() else "",
    )
