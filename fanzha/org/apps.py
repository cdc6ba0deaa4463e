from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The administrators' account pages (the menu's "账号" section); a person's own pages are not among them.
ACCOUNT_PAGES = (
    "account_list",
    "account_export",
    "account_open",
    "account_invite",
    "account_deactivate",
    "account_reactivate",
    "account_reset",
    "account_temporary",
    "account_bulk",
    "account_batch",
    "account_grant",
    "account_revoke",
)


class OrgConfig(AppConfig):
    name = "fanzha.org"
    label = "org"
    verbose_name = _("组织与人员")

    def ready(self) -> None:
        # core draws the menu but must not import org: we register our entries and the function
        # that tells a user's capabilities (see fanzha/core/menu.py).
        from fanzha.core import backup, jobs, menu

        from .models import ROSTER_UPLOADS
        from .roster.tasks import JOBS
        from .scope import capabilities

        jobs.register(*JOBS)  # roster uploads are deleted a day after they came (hourly)
        backup.skip_media(ROSTER_UPLOADS)  # they hold plain ID and phone numbers: never in a backup

        menu.on_capabilities(capabilities)
        menu.register(
            menu.Entry(10, "home", "home", _("首页"), prefixes=("home",)),
            menu.Entry(20, "units", "unit_list", _("单位"), cap="view", prefixes=("unit_",)),
            menu.Entry(
                30, "people", "person_list", _("人员"), prefixes=("person_",), member_label=_("我的信息")
            ),
            menu.Entry(110, "import", "roster_import", _("名册导入"), cap="import", prefixes=("roster_",)),
            menu.Entry(115, "accounts", "account_list", _("账号"), cap="grant", prefixes=ACCOUNT_PAGES),
        )
        # One's own password, beside one's name on every page (the API tokens page is there too).
        menu.register_account(
            menu.Entry(
                20,
                "password",
                "account_password_change",
                _("修改密码"),
                prefixes=("account_password_change",),
            )
        )
