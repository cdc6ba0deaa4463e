from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "fanzha.reports"
    label = "reports"
    verbose_name = _("统计与报表")

    def ready(self) -> None:
        # reach, campaigns and org must not import reports (imports run one way), so they tell us about
        # changed attestations, campaigns and memberships and moved units through the core.hooks registry;
        # the menu and the scheduler ask for our part the same way (fanzha/core/hooks.py, menu.py, jobs.py).
        from fanzha.core import hooks, jobs, menu, warm

        from .home import home_items
        from .kpis import on_attestations_changed, on_campaigns_changed, on_membership_changed, on_units_added
        from .tasks import JOBS
        from .warm import warm_root_dashboards

        warm.register("root_dashboards", warm_root_dashboards)

        hooks.on_attestations_changed(on_attestations_changed)
        hooks.on_units_added(on_units_added)
        hooks.on_campaigns_changed(on_campaigns_changed)
        hooks.on_membership_changed(on_membership_changed)
        jobs.register(*JOBS)
        hooks.on_home(home_items)
        menu.register(
            menu.Entry(
                50, "dashboards", "dashboard_index", _("统计看板"), cap="view", prefixes=("dashboard_",)
            ),
        )
