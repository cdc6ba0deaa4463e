"""What learn adds to the home page: the knowledge base, articles, daily tips and the quiz.

Registered with ``core.hooks.on_home`` in ``LearnConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from fanzha.core.hooks import HomeLink, HomePanel
from fanzha.org.scope import serves_schools


def home_items(user: Any, caps: frozenset[str]) -> Iterable[HomeLink | HomePanel]:
    items = [
        HomeLink(80, _("防骗知识库"), reverse("learn_kb"), _("诈骗类型、防骗守则和法律知识"), common=False)
    ]
    if "publish" in caps and serves_schools(user):  # class groups: not a bank's nor a police station's
        items.append(
            HomeLink(
                62,
                _("每日防骗提示"),
                reverse("learn_tip_schedules"),
                _("工作群机器人每天一条，漏发一目了然"),
                common=False,
            )
        )
        items.append(
            HomeLink(
                64,
                _("发布文章"),
                reverse("learn_article_publish"),
                _("计入每周推送文章的工作任务"),
                common=False,
            )
        )
    if "view" in caps:
        hint = _("试卷规则、题库和试卷预览")
        items.append(HomeLink(66, _("知识测试"), reverse("learn_quiz_papers"), hint, common=False))
    return items
