from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LearnConfig(AppConfig):
    name = "fanzha.learn"
    label = "learn"
    verbose_name = _("宣传与学习")

    def ready(self) -> None:
        # The home page (in org), the menu and the scheduler (in core) ask every app for its part
        # through registries; see fanzha/core/hooks.py, menu.py and jobs.py.
        from fanzha.core import hooks, jobs, menu

        from .home import home_items
        from .tasks import JOBS

        hooks.on_home(home_items)
        jobs.register(*JOBS)
        menu.register(menu.Entry(120, "learn", "learn_kb", _("知识库"), prefixes=("learn_",)))
