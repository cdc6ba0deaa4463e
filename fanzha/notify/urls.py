"""In-app notifications under /notifications/, the units' channels under /notifications/channels/, and
the demo's SMS under /notifications/sms-demo/."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.notification_list, name="notification_list"),
    path("<int:pk>/read/", views.notification_read, name="notification_read"),
    path("read-all/", views.notification_read_all, name="notification_read_all"),
    path("channels/", include("fanzha.notify.channels.urls")),
    path("sms-demo/", include("fanzha.notify.sms.urls")),
]
