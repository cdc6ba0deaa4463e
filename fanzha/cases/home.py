"""What the case ledger adds to the home page: the ledger and reporting a case, and on the workbench
the police side's open and unresolved alerts (with the countdown to the acknowledgement target),
overdue clues and callbacks, and the counsellors' overdue follow-ups.

Registered with ``core.hooks.on_home`` in ``CasesConfig.ready``. Every number is one ``COUNT`` through
the user's scope (``cases.queries``), filtered exactly as the list its link opens.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.core.hooks import URGENT, WEEK, HomeLink, HomePanel, WorkItem
from fanzha.org.scope import Cap, serves_schools

from .clues import queries as clue_queries
from .clues.actions import overdue_clues
from .jurisdiction.queries import overview_unit
from .models import AccountabilityAction, Alert, FollowUp
from .queries import (
    OVERDUE,
    THIS_WEEK,
    accountability_for,
    alerts_for,
    callbacks_due,
    callbacks_for,
    followups_for,
    week_range,
)


def _police_work(user: Any) -> list[WorkItem]:
    now = timezone.now()
    today = timezone.localdate()
    items: list[WorkItem] = []
    alerts = alerts_for(user, Cap.CASE_VIEW).aggregate(
        open=Count("pk", filter=Q(status=Alert.Status.OPEN)),
        acked=Count("pk", filter=Q(status=Alert.Status.ACKNOWLEDGED)),
        oldest=Min("raised_at", filter=Q(status=Alert.Status.OPEN)),
    )
    limit = timedelta(minutes=settings.FANZHA_ALERT_ESCALATE_MINUTES)
    url = reverse("alert_list")
    items.append(
        WorkItem(
            10,
            _("待确认的止付预警"),
            alerts["open"],
            url + "?status=" + Alert.Status.OPEN,
            URGENT,
            _("%(m)d分钟内确认，超时逐级上报") % {"m": settings.FANZHA_ALERT_ESCALATE_MINUTES},
            deadline=alerts["oldest"] + limit if alerts["oldest"] is not None else None,
            script="cases/countdown.js",
        )
    )
    items.append(
        WorkItem(
            11,
            _("已确认未处置的预警"),
            alerts["acked"],
            url + "?status=" + Alert.Status.ACKNOWLEDGED,
            URGENT,
            _("止付、冻结后记录处置结果"),
        )
    )
    clues = overdue_clues(now).filter(pk__in=clue_queries.clues_for(user).values("pk")).count()
    items.append(WorkItem(12, _("逾期未反馈的线索"), clues, reverse("clue_list") + "?state=overdue", URGENT))
    scoped = callbacks_for(user)
    url = reverse("callback_list")
    late = callbacks_due(scoped, OVERDUE, today).count()
    items.append(WorkItem(13, _("逾期未回访"), late, f"{url}?due={OVERDUE}", URGENT))
    week = callbacks_due(scoped, THIS_WEEK, today).count()
    items.append(WorkItem(13, _("本周要回访"), week, f"{url}?due={THIS_WEEK}", WEEK))
    return items


def _followup_work(user: Any) -> list[WorkItem]:
    today = timezone.localdate()
    first, last = week_range(today)
    open_ = followups_for(user, Cap.COUNSEL).filter(status=FollowUp.Status.OPEN)
    # one aggregate, filtered as ``followups_due`` filters the list
    n = open_.aggregate(
        late=Count("pk", filter=Q(next_date__lt=today)),
        week=Count("pk", filter=Q(next_date__gte=first, next_date__lte=last)),
    )
    url = reverse("followup_list")
    return [
        WorkItem(20, _("逾期的心理疏导"), n["late"], f"{url}?due={OVERDUE}", URGENT, _("约定的疏导日期已过")),
        WorkItem(20, _("本周的心理疏导"), n["week"], f"{url}?due={THIS_WEEK}", WEEK),
    ]


def _accountability_work(user: Any, caps: frozenset[str]) -> list[WorkItem]:
    """Proposals the issuing side (``accountability``) must issue; actions issued to the unit the
    administrator must acknowledge. Counted on the same scope as the list (``CASE_VIEW``)."""
    waiting = accountability_for(user, Cap.CASE_VIEW).aggregate(
        proposed=Count("pk", filter=Q(status=AccountabilityAction.Status.PROPOSED)),
        issued=Count("pk", filter=Q(status=AccountabilityAction.Status.ISSUED)),
    )
    url = reverse("accountability_list")
    items = []
    if "accountability" in caps:
        items.append(
            WorkItem(
                40,
                _("待下发的问责"),
                waiting["proposed"],
                f"{url}?status=proposed",
                URGENT,
                _("案件倒查提出的问责建议"),
            )
        )
    # a bank's or police's administrator is rarely a target: shown to them only when there is one
    if "edit_units" in caps and (waiting["issued"] or "accountability" in caps):
        items.append(WorkItem(41, _("待签收的问责"), waiting["issued"], f"{url}?status=issued", URGENT))
    return items


def home_items(user: Any, caps: frozenset[str]) -> Iterable[HomeLink | HomePanel | WorkItem]:
    items: list[HomeLink | HomePanel | WorkItem] = []
    if "case_view" in caps:
        items.append(HomeLink(30, _("案件台账"), reverse("case_list"), _("案件、止付预警、心理疏导和倒查")))
    if "case_edit" in caps:
        # "学生" only for a scope with students (a bank's or a station's victims are customers, residents)
        who = (
            _("学生被骗时立即录入，自动发出止付预警")
            if serves_schools(user)
            else _("有人被骗时立即录入，自动发出止付预警")
        )
        items.append(HomeLink(31, _("报告案件"), reverse("case_quick"), who))
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
        items.extend(_police_work(user))
    if "counsel" in caps:
        items.extend(_followup_work(user))
    if "case_view" in caps and ("accountability" in caps or "edit_units" in caps):
        items.extend(_accountability_work(user, caps))
    return items
