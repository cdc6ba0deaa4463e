"""The project's URL map plus one page that fails, for the 500 page's test."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from fanzha.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("broken/", broken), *urlpatterns]
