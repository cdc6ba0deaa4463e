"""Template context shared by every page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# The main menu: (section, URL name, label, capability needed; None: every signed-in user).
# Capabilities are named by value ("view", "import" …) because core must not import org.
MENU: tuple[tuple[str, str, Promise, str | None], ...] = (
    ("home", "home", _("首页"), None),
    ("units", "unit_list", _("单位"), "view"),
    ("people", "person_list", _("人员"), None),
    ("campaigns", "campaign_list", _("专项行动"), "view"),
    ("dashboards", "dashboard_index", _("统计看板"), "view"),
    ("reach", "reach_index", _("覆盖情况"), "view"),
    ("cases", "case_list", _("案件"), "case_view"),
    ("activities", "activity_list", _("活动"), "view"),
    ("letters", "letter_index", _("责任书"), "view"),
    ("templates", "template_list", _("方案模板"), "view"),
    ("import", "roster_import", _("名册导入"), "import"),
    ("learn", "learn_kb", _("知识库"), None),
    ("notifications", "notification_list", _("通知"), None),
)

# Which menu entry a page belongs to, by the prefix of its URL name (longest first wins).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("home", "home"),
    ("unit_", "units"),
    ("person_", "people"),
    ("school_calendar", "campaigns"),
    ("campaign_", "campaigns"),
    ("activity_", "activities"),
    ("evidence_", "activities"),
    ("letter_", "letters"),
    ("template_", "templates"),
    ("roster_", "import"),
    ("notification_", "notifications"),
    ("reach_", "reach"),
    ("dashboard_", "dashboards"),
    ("learn_", "learn"),
    ("channel_", "notifications"),
    ("case_", "cases"),
    ("alert_", "cases"),
    ("followup_", "cases"),
    ("traceback_", "cases"),
    ("accountability_", "cases"),
    ("case_stats", "cases"),
)


@dataclass(frozen=True)
class MenuLink:
    section: str
    url: str
    label: str | Promise
    current: bool


def section_of(url_name: str | None) -> str:
    """The menu section of a page, from its URL name ("" when it belongs to none)."""
    if not url_name:
        return ""
    for prefix, section in SECTIONS:
        if url_name == prefix or (prefix.endswith("_") and url_name.startswith(prefix)):
            return section
    return ""


def menu(caps: set[Any], url_name: str | None) -> list[MenuLink]:
    """The menu entries the capabilities open, the current page's section marked."""
    current = section_of(url_name)
    links = []
    for section, name, label, cap in MENU:
        if cap is not None and cap not in caps:
            continue
        if section == "people" and not caps:
            label = _("我的信息")
        links.append(MenuLink(section, reverse(name), label, section == current))
    return links


def nav(request: HttpRequest) -> dict[str, Any]:
    """The signed-in user's capabilities and main menu (no query beyond the cached grants)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from fanzha.org.scope import capabilities

    caps = capabilities(user)
    match = getattr(request, "resolver_match", None)
    return {"caps": caps, "menu": menu(caps, match.url_name if match else None)}
