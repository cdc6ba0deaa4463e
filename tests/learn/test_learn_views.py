"""The learn pages: the public knowledge base (no login), publishing an article (which counts towards
the weekly-article obligation), daily-tip schedules and the quiz preview, each with the cast's scope:
out of sight answers 404, visible but not theirs answers 403, and nothing changes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns.compliance import activity_counts
from fanzha.campaigns.models import Activity, Obligation
from fanzha.learn import actions
from fanzha.learn.models import Article, QuizPaper, TipPost, TipSchedule
from fanzha.notify import actions as notify
from fanzha.notify.models import Channel, Outbox
from tests.campaigns.engine import obligation, start
from tests.learn.conftest import fixture_content

pytestmark = pytest.mark.django_db
# Robot addresses of the real services: these tests never deliver, so nothing is contacted.
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="
DING = "https://oapi.dingtalk.com/robot/send?access_token="


@pytest.fixture
def content(db):
    return actions.sync_content(fixture_content())


def login(client, user) -> None:
    client.force_login(user)


def unit_article(unit, title: str, published_on: date, **kw) -> Article:
    return Article.objects.create(
        slug=f"u-{Article.objects.count()}",
        title=title,
        kind=kw.get("kind", "guide"),
        audiences=kw.get("audiences", ["student"]),
        fraud_types=kw.get("fraud_types", []),
        body="正文",
        published_on=published_on,
        owner_unit=unit,
    )


# The public knowledge base -------------------------------------------------------------------------


def test_knowledge_base_is_public_and_filters(client, cast, content):
    today = timezone.localdate()
    unit_article(cast.cs2301, "班级文章", today, fraud_types=["fake_police"])
    future = unit_article(cast.cs2301, "明天的文章", today + timedelta(days=1))
    response = client.get(reverse("learn_kb"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "防骗八问（示例）" in body and "班级文章" in body and "明天的文章" not in body
    assert "不听不信不转账" in body  # the slogan of the day
    assert "发布文章" not in body  # no publishing without an account

    def titles(**params) -> set[str]:
        page = client.get(reverse("learn_kb"), params)
        assert page.status_code == 200
        return {a.title for a in page.context["paged"].page}

    assert titles(audience="public") == {"“两卡”违法（示例）"}
    assert titles(type="brushing") == {"防骗八问（示例）"}
    assert titles(type="fake_police") == {"班级文章"}
    assert titles(kind="law") == {"“两卡”违法（示例）"}
    assert titles(audience="nobody") == {"防骗八问（示例）", "“两卡”违法（示例）", "班级文章"}  # ignored

    detail = client.get(reverse("learn_article", args=["soul-questions"]))
    assert detail.status_code == 200 and "对方是否要求你先转账" in detail.content.decode()
    assert client.get(reverse("learn_article", args=[future.slug])).status_code == 404
    assert client.get(reverse("learn_article", args=["missing"])).status_code == 404

    types = client.get(reverse("learn_fraud_types"))
    assert types.status_code == 200 and "冒充公检法类" in types.content.decode()
    kind = client.get(reverse("learn_fraud_type", args=["fake_police"]))
    text = kind.content.decode()
    assert kind.status_code == 200
    assert "要求转到安全账户" in text and "tel:110" in text and "tel:96110" in text
    assert "公检法不会电话办案" in text and "班级文章" in text  # its tips and articles
    assert client.get(reverse("learn_fraud_type", args=["nope"])).status_code == 404


def test_knowledge_list_query_count(client, cast, content, django_assert_max_num_queries):
    for n in range(30):
        unit_article(cast.cs2301, f"文章{n}", date(2026, 1, 1) + timedelta(days=n))
    with django_assert_max_num_queries(5):
        response = client.get(reverse("learn_kb"))
    assert len(response.context["paged"].page) == 20


def test_staff_pages_need_an_account(client):
    for name in (
        "learn_article_publish",
        "learn_tip_schedules",
        "learn_tip_schedule_create",
        "learn_quiz_papers",
    ):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "login" in response["Location"]


# Publishing an article ---------------------------------------------------------------------------


def test_published_article_counts_towards_the_weekly_article_obligation(client, cast, content):
    today = timezone.localdate()
    campaign = start(cast.uni, starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=300))
    weekly = obligation(campaign, "weekly-article", cast.cs2301)
    login(client, cast.counsellor)
    form = client.get(reverse("learn_article_publish"))
    assert form.status_code == 200
    assert [u.pk for u in form.context["form"].fields["unit"].queryset] == [cast.cs2301.pk]
    response = client.post(
        reverse("learn_article_publish"),
        {
            "unit": cast.cs2301.pk,
            "title": "期末谨防“退费”骗局",
            "kind": "guide",
            "audiences": ["student", "parent"],
            "fraud_types": ["fake_police"],
            "published_on": today.isoformat(),
            "body": "学校不会通过私人账号通知退费。\n\n遇到可疑情况拨打96110。",
        },
    )
    article = Article.objects.get(title="期末谨防“退费”骗局")
    assert response.status_code == 302 and response["Location"] == reverse(
        "learn_article", args=[article.slug]
    )
    assert (article.owner_unit, article.published_on, article.is_builtin) == (cast.cs2301, today, False)
    assert article.created_by == cast.counsellor
    activity = Activity.objects.get()
    assert (activity.kind, activity.obligation, activity.occurred_on) == ("article", weekly, today)
    assert (activity.unit, activity.recorded_by, activity.title) == (
        cast.cs2301,
        cast.counsellor,
        article.title,
    )
    assert list(article.activities.all()) == [activity]
    assert activity_counts(Obligation.objects.filter(pk=weekly.pk), today, today) == {weekly.pk: {today: 1}}
    page = client.get(response["Location"])
    assert "已计入 1 项文章推送工作任务" in page.content.decode()
    assert "期末谨防“退费”骗局" in client.get(reverse("learn_kb")).content.decode()


def test_article_without_an_obligation_records_no_activity(cast, content):
    today = timezone.localdate()
    start(cast.uni, starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=300))
    article = actions.publish_article(
        unit=cast.cs,  # the college: the weekly article falls on classes
        title="学院提示",
        body="正文",
        kind="guide",
        audiences=["student"],
        published_on=today,
        actor=cast.college_admin,
    )
    assert article.owner_unit == cast.cs and not Activity.objects.exists()


@pytest.mark.parametrize("who", ["police_liaison", "auditor", "student", "parent"])
def test_publish_refused_without_edit_rights(client, cast, content, who):
    login(client, cast.users()[who])
    assert client.get(reverse("learn_article_publish")).status_code == 403
    data = {"unit": cast.cs2301.pk, "title": "x", "kind": "guide", "audiences": ["student"], "body": "x"}
    data["published_on"] = timezone.localdate().isoformat()
    assert client.post(reverse("learn_article_publish"), data).status_code == 403
    assert not Article.objects.filter(is_builtin=False).exists()


@pytest.mark.parametrize("who", ["outsider", "counsellor"])
def test_publish_for_a_unit_out_of_scope_is_refused(client, cast, content, who):
    login(client, cast.users()[who])
    data = {
        "unit": cast.ma2301.pk,  # neither the outsider's nor the counsellor's
        "title": "越权文章",
        "kind": "guide",
        "audiences": ["student"],
        "published_on": timezone.localdate().isoformat(),
        "body": "正文",
    }
    response = client.post(reverse("learn_article_publish"), data)
    assert response.status_code == 400 and "unit" in response.context["form"].errors
    assert not Article.objects.filter(is_builtin=False).exists()


# Daily-tip schedules -------------------------------------------------------------------------------


@pytest.fixture
def schedule(cast, content) -> TipSchedule:
    channel = notify.add_channel(unit=cast.cs2301, kind="wecom", name="2301班级群", url=WECOM + "h")
    return actions.create_tip_schedule(
        unit=cast.cs2301, channel=channel, starts_on=timezone.localdate() - timedelta(days=3)
    )


def test_create_a_schedule_for_a_channel_of_ones_class(client, cast, content):
    mine = notify.add_channel(unit=cast.cs2301, kind="dingtalk", name="2301钉钉群", url=DING + "d")
    theirs = notify.add_channel(unit=cast.ma2301, kind="wecom", name="数学群", url=WECOM + "m")
    login(client, cast.counsellor)
    page = client.get(reverse("learn_tip_schedule_create"))
    assert page.status_code == 200
    assert list(page.context["form"].fields["channel"].queryset) == [mine]
    data = {"audience": "student", "post_time": "07:45", "no_repeat_days": 30, "starts_on": "2026-03-01"}
    refused = client.post(reverse("learn_tip_schedule_create"), {**data, "channel": theirs.pk})
    assert refused.status_code == 400 and not TipSchedule.objects.exists()
    response = client.post(reverse("learn_tip_schedule_create"), {**data, "channel": mine.pk})
    schedule = TipSchedule.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "learn_tip_schedule", args=[schedule.pk]
    )
    assert (schedule.unit, schedule.channel, schedule.no_repeat_days) == (cast.cs2301, mine, 30)
    assert schedule.post_time.strftime("%H:%M") == "07:45" and schedule.created_by == cast.counsellor
    # A channel with a schedule is not offered again.
    assert not client.get(reverse("learn_tip_schedule_create")).context["has_channels"]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("school_admin", 200),
        ("college_admin", 200),
        ("counsellor", 200),
        ("police_liaison", 403),
        ("auditor", 403),
        ("student", 404),
        ("parent", 404),
        ("outsider", 404),
    ],
)
def test_schedule_scope_for_the_cast(client, cast, schedule, who, status):
    login(client, cast.users()[who])
    assert client.get(reverse("learn_tip_schedule", args=[schedule.pk])).status_code == status
    toggled = client.post(reverse("learn_tip_schedule_toggle", args=[schedule.pk]))
    posted = client.post(
        reverse("learn_tip_schedule_post", args=[schedule.pk]), {"day": timezone.localdate()}
    )
    schedule.refresh_from_db()
    if status == 200:
        assert toggled.status_code == 302 and not schedule.is_active
        assert posted.status_code == 302 and TipPost.objects.count() == 1
    else:
        assert toggled.status_code == status and posted.status_code == status
        assert schedule.is_active and not TipPost.objects.exists() and not Outbox.objects.exists()


def test_schedule_list_shows_missed_days(client, cast, schedule):
    other = notify.add_channel(unit=cast.other, kind="wecom", name="外校群", url=WECOM + "o")
    actions.create_tip_schedule(unit=cast.other, channel=other)
    login(client, cast.counsellor)
    response = client.get(reverse("learn_tip_schedules"))
    assert response.status_code == 200
    assert [s.pk for s in response.context["items"]] == [schedule.pk]  # not the other school's
    assert response.context["items"][0].missed == 3  # three days before today, nothing sent
    login(client, cast.police_liaison)
    assert client.get(reverse("learn_tip_schedules")).status_code == 403


def test_schedule_history_highlights_missed_days_and_posts_them_once(client, cast, schedule):
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    post, _queued = actions.post_tip(schedule, yesterday)
    Outbox.objects.filter(pk=post.outbox_id).update(status=Outbox.Status.SENT)
    login(client, cast.counsellor)
    page = client.get(reverse("learn_tip_schedule", args=[schedule.pk]))
    history = page.context["history"]
    assert [(h.day, h.missed) for h in history] == [
        (today, True),
        (yesterday, False),
        (today - timedelta(days=2), True),
        (today - timedelta(days=3), True),
    ]
    assert page.context["missed"] == 3
    assert page.content.decode().count('class="missed"') == 3
    url = reverse("learn_tip_schedule_post", args=[schedule.pk])
    client.post(url, {"day": (today - timedelta(days=2)).isoformat()})
    client.post(url, {"day": (today - timedelta(days=2)).isoformat()})
    assert (
        Outbox.objects.filter(idempotency_key=actions.tip_key(schedule, today - timedelta(days=2))).count()
        == 1
    )
    for bad in ("", "2020-01-01", (today + timedelta(days=1)).isoformat(), "nonsense"):
        client.post(url, {"day": bad})
    assert TipPost.objects.count() == 2


# Quiz preview ------------------------------------------------------------------------------------


def test_quiz_pages_for_staff(client, cast, content):
    small = QuizPaper.objects.create(
        code="small", title="小测验", audience="student", rules={"single": 1, "multiple": 1, "true_false": 1}
    )
    login(client, cast.counsellor)
    listing = client.get(reverse("learn_quiz_papers"))
    assert listing.status_code == 200 and "小测验" in listing.content.decode()
    preview = client.get(reverse("learn_quiz_preview", args=[small.pk]), {"seed": "3"})
    text = preview.content.decode()
    assert preview.status_code == 200 and len(preview.context["questions"]) == 3
    assert "要求先垫付的刷单都是诈骗" in text  # the explanations are shown
    short = QuizPaper.objects.get(code="default-student")  # 20 questions, the fixture bank has 3
    assert "不足" in client.get(reverse("learn_quiz_preview", args=[short.pk])).content.decode()
    login(client, cast.student_user)
    assert client.get(reverse("learn_quiz_papers")).status_code == 403
    assert client.get(reverse("learn_quiz_preview", args=[small.pk])).status_code == 403


def test_home_links(client, cast):
    login(client, cast.counsellor)
    body = client.get(reverse("home")).content.decode()
    assert reverse("learn_tip_schedules") in body and reverse("learn_kb") in body
    login(client, cast.student_user)
    body = client.get(reverse("home"), follow=True).content.decode()  # a student lands on /me/
    assert reverse("learn_kb") in body and reverse("learn_tip_schedules") not in body


def test_channels_are_left_alone(cast, schedule):
    assert Channel.objects.get().tip_schedules.get() == schedule
