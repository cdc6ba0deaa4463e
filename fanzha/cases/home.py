"""What the case ledger adds to the home page: the ledger, and reporting a case.

Registered with ``core.hooks.on_home`` in ``CasesConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from fanzha.core.hooks import HomeLink, HomePanel
from fanzha.org.scope import serves_schools

from .jurisdiction.queries import overview_unit


def home_items(user: Any, caps: frozenset[str]) -> Iterable[HomeLink | HomePanel]:
    items: list[HomeLink | HomePanel] = []
    if "case_view" in caps:
        items.append(HomeLink(30, _("案件台账"), reverse("case_list"), _("案件、止付预警、心理疏导和倒查")))
    if "case_edit" in caps:
        # "学生" only for a scope with students (a bank's or a station's victims are customers, residents)
        who = (
            _("学生被骗时立即录入，自动发出止付预警")
            if serves_schools(user)
            else _("有人被骗时立即录入，自动发出止付预警")
        )
        items.append(HomeLink(31, _("报告案件"), reverse("case_new"), who))
    if "case_police" in caps:
        items.append(
            HomeLink(32, _("线索与预警劝阻"), reverse("clue_list"), _("线索下发、反馈和催办；预警名单劝阻"))
        )
        # 回访 is the police plan's work (篇五); others reach it from the case ledger's tabs.
        items.append(HomeLink(33, _("回访"), reverse("callback_list"), _("案件办结后回访受害人")))
        if overview_unit(user, "") is not None:  # a police unit of the user's own tree
            items.append(
                HomeLink(
                    34,
                    _("辖区概况"),
                    reverse("jurisdiction_overview"),
                    _("辖区内学校、社区的案件、预警和宣传活动"),
                )
            )
    return items
