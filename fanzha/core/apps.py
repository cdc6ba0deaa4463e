from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "fanzha.core"
    label = "core"
    verbose_name = _("核心")

    def ready(self) -> None:
        # Core's own periodic job; every app registers its own the same way (see core/jobs.py).
        from django.db.backends.signals import connection_created

        from . import checks, jobs, private  # noqa: F401 (checks registers itself)
        from .tasks import JOBS

        jobs.register(*JOBS)
        # Files on disk are this account's only: the data and media directories now, the SQLite
        # database's files whenever a connection opens (see core/private.py).
        private.secure_data_dirs()
        connection_created.connect(private.on_connection_created, dispatch_uid="fanzha-private-sqlite")
