from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReachConfig(AppConfig):
    name = "fanzha.reach"
    label = "reach"
    verbose_name = _("覆盖与知晓")

    def ready(self) -> None:
        # The home page lives in org and the menu in core, which must not import reach: they ask
        # for our part through registries (see fanzha/core/hooks.py and menu.py).
        from fanzha.core import hooks, menu
        from fanzha.org.scope import SCHOOL_SIDE, school_side

        from .actions import links_for_new_classes, sync_activity_proofs
        from .home import home_items
        from .measures import unit_measures
        from .member.views import member_home_url

        hooks.on_home(home_items)
        hooks.on_units_added(links_for_new_classes)  # a new class has its link before anyone asks
        hooks.on_measure(unit_measures)  # the coverage figure of measured obligations (campaigns)
        hooks.on_attendance_changed(sync_activity_proofs)  # attendance proves training, video, first lesson
        menu.on_capabilities(school_side)  # the coverage of classes: empty for a bank or police station
        menu.on_member_home(member_home_url)  # students and parents: /me/, the class link's tasks
        menu.register(
            menu.Entry(60, "reach", "reach_index", _("覆盖情况"), cap=SCHOOL_SIDE, prefixes=("reach_",))
        )
