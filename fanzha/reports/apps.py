from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "fanzha.reports"
    label = "reports"
    verbose_name = _("统计与报表")

    def ready(self) -> None:
        # reach and org must not import reports (imports run one way), so they tell us about changed
        # attestations and moved units through the core.hooks registry; see fanzha/core/hooks.py.
        from fanzha.core import hooks

        from .kpis import on_attestations_changed, on_units_added

        hooks.on_attestations_changed(on_attestations_changed)
        hooks.on_units_added(on_units_added)
