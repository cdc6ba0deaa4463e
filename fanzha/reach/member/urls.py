"""Member self-service pages, mounted at /m/: everything hangs off a class link's token. (``/me/``, the
same pages for a signed-in account, is mounted by ``fanzha/urls.py``.)"""

from django.urls import path

from . import views

urlpatterns = [
    path("<str:token>/", views.landing, name="member_landing"),
    path("<str:token>/signin/", views.signin, name="member_signin"),
    path("<str:token>/parent/", views.guardian_signin, name="member_guardian_signin"),
    path("<str:token>/code/", views.code, name="member_code"),
    path("<str:token>/signout/", views.signout, name="member_signout"),
    path("<str:token>/tasks/", views.tasks, name="member_tasks"),
    path("<str:token>/tips/", views.tips, name="member_tips"),
    path("<str:token>/class-tip/", views.class_tip_posted, name="member_class_tip"),
    path("<str:token>/c/<int:campaign_pk>/pledge/", views.pledge, name="member_pledge"),
    path("<str:token>/c/<int:campaign_pk>/app/", views.app, name="member_app"),
    path("<str:token>/c/<int:campaign_pk>/quiz/", views.quiz, name="member_quiz"),
    path("<str:token>/c/<int:campaign_pk>/notice/<int:child_pk>/", views.notice, name="member_notice"),
    path("<str:token>/c/<int:campaign_pk>/parent-app/", views.parent_app, name="member_parent_app"),
    path("<str:token>/letters/<int:letter_pk>/", views.letter, name="member_letter"),
]
