from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "fanzha.campaigns"
    label = "campaigns"
    verbose_name = _("专项行动")

    def ready(self) -> None:
        # org must not import campaigns (imports run one way), so the unit tree tells us about
        # new and moved units through the core.hooks registry, and the home page asks for our
        # quick links the same way; see fanzha/core/hooks.py.
        from fanzha.core import hooks

        from .actions import sync_for_units
        from .home import home_items

        hooks.on_units_added(sync_for_units)
        hooks.on_home(home_items)
