from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LearnConfig(AppConfig):
    name = "fanzha.learn"
    label = "learn"
    verbose_name = _("宣传与学习")

    def ready(self) -> None:
        # The home page (in org) asks every app for its quick links; see fanzha/core/hooks.py.
        from fanzha.core import hooks

        from .home import home_items

        hooks.on_home(home_items)
