"""What reach adds to the home page: the coverage matrix of one's classes and dormitories.

Registered with ``core.hooks.on_home`` in ``ReachConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from fanzha.core.hooks import HomeLink, HomePanel
from fanzha.org.scope import serves_schools


def home_items(user: Any, caps: frozenset[str]) -> Iterable[HomeLink | HomePanel]:
    """The coverage link for those whose scope has classes (``org.scope.serves_schools``); "一键提醒"
    promised only to those who may remind (``views.CHANGE``)."""
    if "view" not in caps or not serves_schools(user):
        return []
    # Reminding the missing needs ``edit_people`` (``views.CHANGE``): a read-only auditor is not promised it.
    if "edit_people" in caps:
        hint = _("谁还没签承诺书、装APP、答题，一键提醒")
    else:
        hint = _("谁还没签承诺书、装APP、答题")
    return [HomeLink(25, _("覆盖情况"), reverse("reach_index"), hint, common="edit_people" in caps)]
