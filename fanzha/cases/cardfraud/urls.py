"""Card fraud among students (涉"两卡"学生), mounted at /cases/cardfraud/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.cardfraud_list, name="cardfraud_list"),
    path("new/", views.cardfraud_new, name="cardfraud_new"),
    path("<int:pk>/", views.cardfraud_detail, name="cardfraud_detail"),
    path("<int:pk>/handle/", views.cardfraud_handle, name="cardfraud_handle"),
    path("<int:pk>/reveal/", views.cardfraud_reveal, name="cardfraud_reveal"),
]
