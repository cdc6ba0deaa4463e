"""Top-level URL map: pages per app, the API under /api/v1/, and the admin."""

from django.contrib import admin
from django.urls import include, path

from fanzha.core.health import healthz
from fanzha.reach.member.views import member_home

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("fanzha.api.urls")),
    path("account/tokens/", include("fanzha.api.tokens.urls")),
    path("admin/", admin.site.urls),
    path("sso/", include("fanzha.sso.urls")),
    path("campaigns/", include("fanzha.campaigns.urls")),
    path("notifications/", include("fanzha.notify.urls")),
    path("learn/", include("fanzha.learn.urls")),
    path("roster/", include("fanzha.org.roster.urls")),
    path("reach/", include("fanzha.reach.urls")),
    path("cases/", include("fanzha.cases.urls")),
    path("m/", include("fanzha.cases.member.urls")),
    path("m/", include("fanzha.reach.member.urls")),
    path("me/", member_home, name="member_home"),
    path("dashboards/", include("fanzha.reports.urls")),
    path("", include("fanzha.org.urls")),
]

# Error pages in the user's language with a way back (fanzha/core/errors.py).
handler400 = "fanzha.core.errors.bad_request"
handler403 = "fanzha.core.errors.permission_denied"
handler404 = "fanzha.core.errors.page_not_found"
handler500 = "fanzha.core.errors.server_error"
