from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "fanzha.cases"
    label = "cases"
    verbose_name = _("案件台账")

    def ready(self) -> None:
        # The home page lives in org, the menu and the scheduler in core; none may import cases, so
        # they ask for our part through registries (see fanzha/core/hooks.py, menu.py, jobs.py).
        from fanzha.core import hooks, jobs, menu

        from .freeze.views import home_items as freeze_home_items
        from .home import home_items
        from .tasks import JOBS

        hooks.on_home(home_items)
        hooks.on_home(freeze_home_items)
        jobs.register(*JOBS)
        menu.register(
            menu.Entry(
                70,
                "cases",
                "case_list",
                _("案件"),
                cap="case_view",
                prefixes=(
                    "case_",
                    "alert_",
                    "freeze_",
                    "followup_",
                    "traceback_",
                    "accountability_",
                    "clue_",
                    "dissuasion_",
                    "warnlist_",
                    "callback_",
                ),
            ),
        )
