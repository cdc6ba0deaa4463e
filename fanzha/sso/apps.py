from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SsoConfig(AppConfig):
    name = "fanzha.sso"
    label = "sso"
    verbose_name = _("单点登录")

    def ready(self) -> None:
        # The sign-in page is core's and must not import us: we register the function that tells which
        # providers are configured, and core draws a button for each (see fanzha/core/menu.py).
        # django-cas-ng fills in its defaults on the settings when first imported: import it now, while
        # the settings are the real ones (imported first inside a test's override_settings, its
        # defaults would vanish with the override).
        import django_cas_ng  # noqa: F401

        from fanzha.core import menu

        from . import checks  # noqa: F401 (registers its system check)
        from .options import login_options

        menu.on_login_options(login_options)
