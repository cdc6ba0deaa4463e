"""API routes: /api/v1/ (token auth), the OpenAPI schema and its browsable doc page."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from fanzha.cases.api import AlertViewSet, CaseViewSet, StatsView
from fanzha.org.api import MembershipViewSet, PersonViewSet, UnitViewSet

from .auth import ObtainTokenView

router = DefaultRouter()
router.register("units", UnitViewSet, basename="unit")
router.register("people", PersonViewSet, basename="person")
router.register("memberships", MembershipViewSet, basename="membership")
router.register("cases", CaseViewSet, basename="case")
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = [
    path("v1/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("v1/stats/", StatsView.as_view(), name="api-stats"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # the split view serves its start-up script as a file: no inline script under the CSP
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
