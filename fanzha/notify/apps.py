from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "fanzha.notify"
    label = "notify"
    verbose_name = _("通知")

    def ready(self) -> None:
        # The home page (in org), the menu and the scheduler (in core) ask every app for its part
        # through registries; see fanzha/core/hooks.py, menu.py and jobs.py.
        from fanzha.core import hooks, jobs, menu

        from . import checks  # noqa: F401  (registers the SMS and e-mail system checks)
        from .home import home_items
        from .postman import OutboxPostman
        from .tasks import JOBS

        hooks.on_home(home_items)
        hooks.set_postman(OutboxPostman())  # org's invitations and reset codes go through the outbox
        jobs.register(*JOBS)
        menu.register(
            menu.Entry(
                130,
                "notifications",
                "notification_list",
                _("通知"),
                prefixes=("notification_", "channel_", "sms_"),
            ),
        )
