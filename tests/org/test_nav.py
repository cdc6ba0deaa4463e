"""The main menu and the home page's quick links: each member of the cast sees exactly the entries
their capabilities open, the current section is marked, and the home page's queries are pinned."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns.models import Campaign
from fanzha.org import actions
from fanzha.org.models import MembershipRole, User
from tests.campaigns import engine
from tests.campaigns.conftest import make_campaign
from tests.campaigns.engine import make_template, start
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

EVERYONE = ["home", "person_list", "learn_kb", "notification_list"]
VIEWERS = [
    "unit_list",
    "campaign_list",
    "dashboard_index",
    "reach_index",
    "case_list",
    "activity_list",
    "letter_index",
    "template_list",
]
ORDER = [
    "home",
    "unit_list",
    "person_list",
    "campaign_list",
    "dashboard_index",
    "reach_index",
    "case_list",
    "activity_list",
    "letter_index",
    "template_list",
    "roster_import",
    "account_list",
    "learn_kb",
    "notification_list",
]


TOKENS = ["/account/tokens/"]  # staff only
PASSWORD_PAGE = ["/account/password/"]  # everyone with an account


def in_order(names: list[str]) -> list[str]:
    return [reverse(n) for n in ORDER if n in names]


MENU = {
    "school_admin": in_order(EVERYONE + VIEWERS + ["roster_import", "account_list"]),
    "college_admin": in_order(EVERYONE + VIEWERS + ["roster_import", "account_list"]),
    "outsider": in_order(EVERYONE + VIEWERS + ["roster_import", "account_list"]),
    "counsellor": in_order(EVERYONE + VIEWERS),
    "police_liaison": in_order(EVERYONE + VIEWERS),
    "auditor": in_order(EVERYONE + VIEWERS),
    # a student's and a parent's "我的信息" opens their own page of tasks (/me/), not a people search
    "student": [reverse("member_home") if u == reverse("person_list") else u for u in in_order(EVERYONE)],
    "parent": [reverse("member_home") if u == reverse("person_list") else u for u in in_order(EVERYONE)],
}


def menus(body: str) -> list[list[str]]:
    """The links of each copy of the main menu (the bar, and the folded menu for phones)."""
    navs = re.findall(r'<nav[^>]*aria-label="主导航"[^>]*>(.*?)</nav>', body, re.S)
    return [re.findall(r'href="([^"]+)"', nav) for nav in navs]


def current(body: str) -> set[str]:
    navs = re.findall(r'<nav[^>]*aria-label="主导航"[^>]*>(.*?)</nav>', body, re.S)
    return {m for nav in navs for m in re.findall(r'href="([^"]+)" aria-current="page"', nav)}


def quick_links(body: str) -> list[str]:
    """Every link of the home page: the common actions, then those folded under 全部功能."""
    found = re.findall(r'<ul class="tiles quick">(.*?)</ul>', body, re.S)
    return [href for block in found for href in re.findall(r'href="([^"]+)"', block)]


@pytest.fixture
def campaign(cast) -> Campaign:
    return make_campaign(cast)


# The menu ------------------------------------------------------------------------------------------


def test_each_cast_member_sees_the_menu_of_their_capabilities(client, cast):
    for who, user in cast.users().items():
        client.force_login(user)
        member = who in ("student", "parent")
        for page in ("notification_list",) if member else ("home", "notification_list", "person_list"):
            body = client.get(reverse(page)).content.decode()
            # The folded menu for phones also holds the account area's pages (by the name when wide);
            # the API tokens page is for staff only, changing one's password for everyone.
            account = (TOKENS if who not in ("student", "parent") else []) + PASSWORD_PAGE
            assert menus(body) == [MENU[who], MENU[who] + account], (who, page)


def test_people_entry_is_my_record_without_grants(client, cast):
    client.force_login(cast.student_user)
    body = client.get(reverse("notification_list")).content.decode()
    assert f'<a href="{reverse("member_home")}">我的信息</a>' in body
    assert client.get(reverse("home")).url == reverse("member_home")  # the home page sends them there
    assert client.get(reverse("person_list")).url == reverse("member_home")  # and so does a people search
    client.force_login(cast.auditor)
    body = client.get(reverse("home")).content.decode()
    assert f'<a href="{reverse("person_list")}">人员</a>' in body


def test_superuser_sees_every_entry(client, cast):
    root = User.objects.create_superuser("root", password=PASSWORD)
    client.force_login(root)
    assert menus(client.get(reverse("home")).content.decode())[0] == [reverse(n) for n in ORDER]


@pytest.mark.parametrize(
    "url_name, args, section",
    [
        ("home", [], "home"),
        ("unit_list", [], "unit_list"),
        ("person_list", [], "person_list"),
        ("campaign_list", [], "campaign_list"),
        ("campaign_start_choose", [], "campaign_list"),
        ("activity_list", [], "activity_list"),
        ("activity_record", [], "activity_list"),
        ("letter_index", [], "letter_index"),
        ("template_list", [], "template_list"),
        ("roster_import", [], "roster_import"),
        ("roster_export", [], "roster_import"),
        ("account_list", [], "account_list"),
        ("notification_list", [], "notification_list"),
        ("channel_list", [], "notification_list"),
    ],
)
def test_the_current_section_is_marked(client, cast, url_name, args, section):
    client.force_login(cast.school_admin)
    response = client.get(reverse(url_name, args=args))
    assert response.status_code == 200
    assert current(response.content.decode()) == {reverse(section)}


def test_campaign_and_unit_pages_mark_their_section(client, cast, campaign):
    client.force_login(cast.school_admin)
    body = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert current(body) == {reverse("campaign_list")}
    body = client.get(reverse("letter_status", args=[campaign.pk])).content.decode()
    assert current(body) == {reverse("letter_index")}
    body = client.get(reverse("unit_detail", args=[cast.cs.pk])).content.decode()
    assert current(body) == {reverse("unit_list")}


def test_no_menu_when_signed_out(client):
    body = client.get(reverse("login")).content.decode()
    assert menus(body) == []


# Home page quick links -----------------------------------------------------------------------------


def test_quick_links_of_each_role(client, cast, campaign):
    """Each role's links: its few common actions first (at most six), then the rest folded away; a
    read-only auditor's and a liaison's coverage and letters links are not among their actions."""
    dashboard = reverse("campaign_dashboard", args=[campaign.pk])
    reach, kb, quiz = reverse("reach_index"), reverse("learn_kb"), reverse("learn_quiz_papers")
    teaching = [reverse("learn_tip_schedules"), reverse("learn_article_publish"), quiz]
    cases = [reverse("case_list"), reverse("case_quick")]
    record, letters = reverse("activity_record"), reverse("letter_index")
    start = reverse("campaign_start_choose")
    admin_more = [
        reverse("roster_import"),
        letters,
        reverse("channel_list"),
        *teaching,
        reverse("roster_export"),
        kb,
    ]
    admin = [start, reach, dashboard, *cases, record, *admin_more]
    watcher = [letters, quiz, reverse("roster_export"), kb]
    police_work = [reverse("clue_list"), reverse("callback_list")]  # the police plan's clues and callbacks
    expected = {
        "school_admin": admin,
        "college_admin": admin,
        "counsellor": [reach, *cases, record, letters, *teaching, reverse("roster_export"), kb],
        "police_liaison": [dashboard, *cases, *police_work, reach, *watcher],
        "auditor": [dashboard, cases[0], reach, *watcher],
        # the university's campaign is not theirs
        "outsider": [start, reach, *cases, record, letters, *[x for x in admin_more if x != letters]],
    }
    for who, user in cast.users().items():
        client.force_login(user)
        response = client.get(reverse("home"))
        if who in ("student", "parent"):  # no quick links: their page of tasks instead
            assert response.url == reverse("member_home"), who
            continue
        assert quick_links(response.content.decode()) == expected[who], who


def test_counsellor_home_lists_their_classes_obligations_due(client, cast, campaign):
    client.force_login(cast.counsellor)
    response = client.get(reverse("home"))
    (panel,) = response.context["panels"]
    rows = panel.context["due_rows"]
    assert [(r.unit_name, r.title) for r in rows] == [("计科2301班", "每月一次反诈主题班会")]
    row = rows[0]
    assert row.count == 0 and row.min_count == 1 and row.campaign == campaign
    body = response.content.decode()
    assert "本期待完成的工作" in body and row.url in body
    assert f"unit={cast.cs2301.pk}" in row.record_url and "kind=class_meeting" in row.record_url
    # The link fills in the recording form.
    form = client.get(row.record_url).context["form"]
    assert form.initial["unit"] == cast.cs2301.pk and form.initial["kind"] == "class_meeting"
    obligation = campaign.obligations.get(unit=cast.cs2301)
    assert form.initial["obligation"] == obligation.pk


def test_a_met_obligation_leaves_the_list(client, cast, campaign):
    obligation = campaign.obligations.get(unit=cast.cs2301)
    engine.record(obligation, timezone.localdate(), kind="class_meeting", title="班会")  # with its evidence
    client.force_login(cast.counsellor)
    response = client.get(reverse("home"))
    assert response.context["panels"][0].context["due_rows"] == []
    assert "本期的工作都已完成" in response.content.decode()


def test_no_due_list_without_a_running_campaign(client, cast, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(starts_on=timezone.localdate() + timedelta(days=3))
    client.force_login(cast.counsellor)
    assert client.get(reverse("home")).context["panels"][0].context["due_rows"] == []


def test_a_dorm_head_without_grants_goes_to_their_tasks(client, cast):
    """A dorm head with no grant is a student: their page of tasks lists the dormitory's letter
    (tests/reach/member/test_one_place.py signs it there)."""
    actions.add_membership(cast.monitor, cast.d1_101, MembershipRole.DORM_HEAD)
    head = actions.create_account(cast.monitor, PASSWORD)
    client.force_login(head)
    assert client.get(reverse("home")).url == reverse("member_home")


# Queries -------------------------------------------------------------------------------------------

# session, user, grants (cached for the menu too), the user's grants with units, top units; the quick
# links: running campaigns for the dashboards; the workbench (issue 15): letters to sign (units the
# user heads, twice; the upper and lower sides), accountability actions waiting (one aggregate), and
# per running campaign (at most ``reports.home.CAMPAIGNS``) its dashboard figures: running campaigns,
# then per campaign the child units and their counts. No count of people or units.
ADMIN_HOME_QUERIES = 14
# … a counsellor's quick links need no dashboards but the due list: running campaigns, then per
# campaign rules, obligations, school calendars, activity counts; then the units' names; and the
# units above their classes, to name their role as the level does (辅导员, 班主任, 教师); and the periods
# accepted as exceptions; the workbench (issue 15): follow-ups overdue and this week's (one aggregate),
# the letters to sign (upper and lower sides).
COUNSELLOR_HOME_QUERIES = 18
# session, user, grants; then on to /me/: the account's person, and whether they have member pages.
STUDENT_HOME_QUERIES = 5


def test_home_query_counts_are_pinned(client, cast, campaign, django_assert_num_queries):
    for user, count in (
        (cast.school_admin, ADMIN_HOME_QUERIES),
        (cast.counsellor, COUNSELLOR_HOME_QUERIES),
        (cast.student_user, STUDENT_HOME_QUERIES),
    ):
        client.force_login(user)
        with django_assert_num_queries(count):
            assert client.get(reverse("home")).status_code in (200, 302)


def test_admin_home_does_not_grow_with_campaigns_and_units(client, cast, django_assert_num_queries):
    today = timezone.localdate()
    for i in range(5):
        start(cast.uni, make_template(f"t{i}"), starts_on=today - timedelta(days=i + 1), ends_on=today)
    actions.bulk_create_children(
        cast.cs2302, [actions.UnitSpec(name=f"小组{i}", code=f"G{i}", kind="other") for i in range(20)]
    )
    client.force_login(cast.school_admin)
    # the workbench's figures of a second running campaign; never more (``reports.home.CAMPAIGNS``)
    with django_assert_num_queries(ADMIN_HOME_QUERIES + 2):
        body = client.get(reverse("home")).content.decode()
    dashboards = [url for url in quick_links(body) if url.endswith("/dashboard/")]
    assert len(dashboards) == 3  # the three started last


def test_obligation_page_offers_recording_to_those_who_record(client, cast, campaign):
    obligation = campaign.obligations.get(unit=cast.cs2301)
    url = reverse("campaign_obligation", args=[campaign.pk, obligation.pk])
    query = f"unit={cast.cs2301.pk}&amp;obligation={obligation.pk}&amp;kind=class_meeting"
    record = f"{reverse('activity_record')}?{query}"
    for user, shown in ((cast.counsellor, True), (cast.college_admin, True), (cast.police_liaison, False)):
        client.force_login(user)
        assert (record in client.get(url).content.decode()) == shown, user
