from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "fanzha.api"
    label = "api"
    verbose_name = _("接口")

    def ready(self) -> None:
        # The tokens page is reached from the account area of every page, which core draws without
        # knowing the API (see fanzha/core/menu.py). Staff only: students and parents have no use for
        # the API, and a link they cannot use is noise on a phone.
        from fanzha.core import hooks, menu

        from .tokens.actions import revoke_all

        # A deactivated account, or one whose password an administrator reset, keeps no token.
        hooks.on_sign_ins_ended(revoke_all)

        prefixes = ("account_tokens", "account_token_")
        menu.register_account(
            menu.Entry(10, "api_tokens", "account_tokens", _("接口令牌"), cap="view", prefixes=prefixes)
        )
