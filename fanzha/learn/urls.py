"""Pages of the learn app, mounted at /learn/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.knowledge_list, name="learn_kb"),
    path("articles/new/", views.article_publish, name="learn_article_publish"),
    path("articles/<slug:slug>/", views.article_detail, name="learn_article"),
    path("types/", views.fraud_type_list, name="learn_fraud_types"),
    path("types/<slug:code>/", views.fraud_type_detail, name="learn_fraud_type"),
    path("tips/", views.tip_schedule_list, name="learn_tip_schedules"),
    path("tips/new/", views.tip_schedule_create, name="learn_tip_schedule_create"),
    path("tips/<int:pk>/", views.tip_schedule_detail, name="learn_tip_schedule"),
    path("tips/<int:pk>/toggle/", views.tip_schedule_toggle, name="learn_tip_schedule_toggle"),
    path("tips/<int:pk>/post/", views.tip_schedule_post, name="learn_tip_schedule_post"),
    path("quiz/", views.quiz_paper_list, name="learn_quiz_papers"),
    path("quiz/<int:pk>/preview/", views.quiz_paper_preview, name="learn_quiz_preview"),
]
