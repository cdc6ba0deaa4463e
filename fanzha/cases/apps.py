from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "fanzha.cases"
    label = "cases"
    verbose_name = _("案件台账")

    def ready(self) -> None:
        # The home page lives in org, which must not import cases: it asks for our quick links
        # through the core.hooks registry (see fanzha/core/hooks.py).
        from fanzha.core import hooks

        from .home import home_items

        hooks.on_home(home_items)
