from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "fanzha.campaigns"
    label = "campaigns"
    verbose_name = _("专项行动")

    def ready(self) -> None:
        # org must not import campaigns (imports run one way), so the unit tree tells us about
        # new and moved units through the core.hooks registry; the home page, the menu and the
        # scheduler ask for our part the same way (see fanzha/core/hooks.py, menu.py, jobs.py).
        from fanzha.core import hooks, jobs, menu

        from .actions import sync_for_units
        from .home import home_items
        from .tasks import JOBS

        hooks.on_units_added(sync_for_units)
        hooks.on_home(home_items)
        jobs.register(*JOBS)
        menu.register(
            menu.Entry(
                40,
                "campaigns",
                "campaign_list",
                _("专项行动"),
                cap="view",
                prefixes=("campaign_", "school_calendar"),
            ),
            menu.Entry(
                80, "activities", "activity_list", _("活动"), cap="view", prefixes=("activity_", "evidence_")
            ),
            menu.Entry(90, "letters", "letter_index", _("责任书"), cap="view", prefixes=("letter_",)),
            menu.Entry(100, "templates", "template_list", _("方案模板"), cap="view", prefixes=("template_",)),
        )
