from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReachConfig(AppConfig):
    name = "fanzha.reach"
    label = "reach"
    verbose_name = _("覆盖与知晓")

    def ready(self) -> None:
        # The home page lives in org, which must not import reach: it asks for our quick link
        # through the core.hooks registry (see fanzha/core/hooks.py).
        from fanzha.core import hooks

        from .home import home_items

        hooks.on_home(home_items)
