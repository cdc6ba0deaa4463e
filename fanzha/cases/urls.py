"""The case ledger's pages, mounted at /cases/: the ledger's own here, each feature's from its package
(the trace-back and accountability pages sit under followups/, where they have always been)."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("alerts/", include("fanzha.cases.alerts.urls")),
    path("freeze/", include("fanzha.cases.freeze.urls")),
    path("followups/traceback/", include("fanzha.cases.traceback.urls")),
    path("followups/accountability/", include("fanzha.cases.accountability.urls")),
    path("followups/", include("fanzha.cases.followup.urls")),
    path("stats/", include("fanzha.cases.stats.urls")),
    path("results/", include("fanzha.cases.results.urls")),
    path("jurisdiction/", include("fanzha.cases.jurisdiction.urls")),
    path("cardfraud/", include("fanzha.cases.cardfraud.urls")),
    path("clues/", include("fanzha.cases.clues.urls")),
    path("callbacks/", include("fanzha.cases.callbacks.urls")),
    path("", views.case_list, name="case_list"),
    path("new/", views.case_new, name="case_new"),
    path("quick/", views.case_quick, name="case_quick"),
    path("people/", views.case_person, name="case_person"),
    path("drafts/save/", views.case_draft_save, name="case_draft_save"),
    path("drafts/<int:pk>/delete/", views.case_draft_delete, name="case_draft_delete"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
    path("<int:pk>/reveal/", views.case_reveal, name="case_reveal"),
    path("<int:pk>/edit/", views.case_edit, name="case_edit"),
    path("<int:pk>/state/", views.case_state, name="case_state"),
    path("<int:pk>/attach/", views.case_attach, name="case_attach"),
    path("<int:pk>/files/<int:file_pk>/", views.case_attachment, name="case_attachment"),
    path("<int:pk>/timeline/", views.case_timeline, name="case_timeline"),
]
