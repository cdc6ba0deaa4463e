from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "fanzha.notify"
    label = "notify"
    verbose_name = _("通知")

    def ready(self) -> None:
        # The home page (in org) asks every app for its quick links; see fanzha/core/hooks.py.
        from fanzha.core import hooks

        from .home import home_items

        hooks.on_home(home_items)
