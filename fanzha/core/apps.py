from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "fanzha.core"
    label = "core"
    verbose_name = _("核心")

    def ready(self) -> None:
        # Core's own periodic job; every app registers its own the same way (see core/jobs.py).
        from . import checks, jobs  # noqa: F401 (checks registers itself)
        from .tasks import JOBS

        jobs.register(*JOBS)
