"""The channel pages (chat-group robots and e-mail): who may list, add, change, switch off and test
them (the cast matrix, refused writes change nothing), secrets shown masked once saved, and a test
message delivered at once to the local fake of the robot service (fanzha/bench/robots.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from fanzha.notify import actions, delivery
from fanzha.notify.models import Channel, Outbox

pytestmark = pytest.mark.django_db

# Who may set up channels for the units under the computer college (CS2301's channel) …
EDITS_CS = {"school_admin", "college_admin"}
# … who sees CS2301 but may only look: refused with 403; everyone else gets 404.
SEES_CS = {"counsellor", "police_liaison", "auditor"}
# Who holds Cap.EDIT_UNITS anywhere, and so may open the list and the "add" page.
EDITORS = {"school_admin", "college_admin", "outsider"}

WECOM_KEY = "0f3c9a5e-1b2d-4c6e-8f70-123456789abc"
DING_SECRET = "SEC1234567890abcdefSECRETtail"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="
DING = "https://oapi.dingtalk.com/robot/send?access_token="
FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/"


# Fixtures and helpers ----------------------------------------------------------------------------


@pytest.fixture
def channel(cast) -> Channel:
    """CS2301's WeCom robot."""
    return actions.add_channel(unit=cast.cs2301, kind="wecom", name="计科2301班级群", url=WECOM + WECOM_KEY)


def snapshot(channel: Channel) -> tuple[Any, ...]:
    fresh = Channel.objects.get(pk=channel.pk)
    return (fresh.kind, fresh.name, fresh.url, fresh.secret, fresh.is_active, fresh.unit_id)


def notes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# The cast matrix ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["channel_list", "channel_create"])
def test_list_and_add_pages_for_each_cast_member(client, cast, channel, name):
    for who, user in cast.users().items():
        client.force_login(user)
        response = client.get(reverse(name))
        assert response.status_code == (200 if who in EDITORS else 403), (who, response.status_code)


def test_list_shows_only_the_channels_in_the_editors_scope(client, cast, channel):
    other = actions.add_channel(unit=cast.oc01, kind="wecom", name="其他1班群", url=WECOM + "other")
    uni = actions.add_channel(unit=cast.uni, kind="dingtalk", name="全校工作群", url=DING + "uni")
    expected = {
        "school_admin": {channel.name, uni.name},
        "college_admin": {channel.name},
        "outsider": {other.name},
    }
    for who, names in expected.items():
        client.force_login(getattr(cast, who))
        shown = {c.name for c in client.get(reverse("channel_list")).context["page"]}
        assert shown == names, who


@pytest.mark.parametrize("name", ["channel_edit"])
def test_edit_page_for_each_cast_member(client, cast, channel, name):
    for who, user in cast.users().items():
        client.force_login(user)
        response = client.get(reverse(name, args=[channel.pk]))
        expected = 200 if who in EDITS_CS else 403 if who in SEES_CS else 404
        assert response.status_code == expected, (who, response.status_code)


@pytest.mark.parametrize("name", ["channel_edit", "channel_disable", "channel_enable", "channel_test"])
def test_refused_writes_change_nothing(client, cast, channel, name, robots):
    robot = robots.wecom.add_robot()
    Channel.objects.filter(pk=channel.pk).update(url=robot.url)
    before = snapshot(channel)
    data = {"kind": "feishu", "name": "改名", "url": FEISHU + "x", "secret": "s"}
    for who, user in cast.users().items():
        if who in EDITS_CS:
            continue
        client.force_login(user)
        response = client.post(reverse(name, args=[channel.pk]), data)
        assert response.status_code == (403 if who in SEES_CS else 404), (who, response.status_code)
    assert snapshot(channel) == before
    assert not Outbox.objects.exists() and robots.wecom.exchanges == []


def test_a_channel_above_the_college_is_out_of_sight(client, cast):
    uni = actions.add_channel(unit=cast.uni, kind="wecom", name="全校工作群", url=WECOM + "uni")
    client.force_login(cast.college_admin)
    assert client.get(reverse("channel_edit", args=[uni.pk])).status_code == 404
    client.force_login(cast.police_liaison)
    assert client.get(reverse("channel_edit", args=[uni.pk])).status_code == 403


def test_pages_need_login(client, channel):
    for url in (reverse("channel_list"), reverse("channel_edit", args=[channel.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.post(reverse("channel_test", args=[channel.pk])).status_code == 302
    assert not Outbox.objects.exists()


def test_write_pages_refuse_get(client, cast, channel):
    client.force_login(cast.school_admin)
    for name in ("channel_disable", "channel_enable", "channel_test"):
        assert client.get(reverse(name, args=[channel.pk])).status_code == 405, name


# Adding and changing ------------------------------------------------------------------------------


def test_add_a_dingtalk_robot_and_see_its_secret_masked(client, cast):
    client.force_login(cast.college_admin)
    url = "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789token"
    response = client.post(
        reverse("channel_create"),
        {
            "unit": cast.cs2302.pk,
            "kind": "dingtalk",
            "name": "计科2302班级群",
            "audience": "class",
            "url": url,
            "secret": DING_SECRET,
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("channel_list")
    channel = Channel.objects.get()
    assert (channel.unit, channel.kind, channel.url, channel.secret) == (
        cast.cs2302,
        "dingtalk",
        url,
        DING_SECRET,
    )
    body = client.get(reverse("channel_list")).content.decode()
    assert "计科2302班级群" in body
    assert DING_SECRET not in body and "abcdef0123456789token" not in body
    assert channel.masked_secret in body and channel.masked_secret.endswith("tail")
    assert "https://oapi.dingtalk.com/robot/" in body
    form = client.get(reverse("channel_edit", args=[channel.pk])).content.decode()
    assert DING_SECRET not in form and "abcdef0123456789token" not in form
    assert channel.masked_secret in form


def test_add_refuses_units_outside_the_scope_and_bad_addresses(client, cast):
    client.force_login(cast.college_admin)
    base = {"kind": "wecom", "name": "群", "url": WECOM + "k", "audience": "staff"}
    for unit in (cast.ma2301, cast.uni, cast.oc01):  # beside, above, another school
        response = client.post(reverse("channel_create"), {**base, "unit": unit.pk})
        assert response.status_code == 400 and "unit" in response.context["form"].errors
    for bad in ({"url": "file:///etc/passwd"}, {"url": "javascript:alert(1)"}, {"kind": "sms"}):
        response = client.post(reverse("channel_create"), {**base, "unit": cast.cs2301.pk, **bad})
        assert response.status_code == 400, bad
    response = client.post(
        reverse("channel_create"), {**base, "unit": cast.cs2301.pk, "kind": "email", "url": "not-an-address"}
    )
    assert response.status_code == 400 and "url" in response.context["form"].errors
    assert not Channel.objects.exists()


def test_add_page_offers_the_unit_named_in_the_link(client, cast):
    client.force_login(cast.school_admin)
    response = client.get(reverse("channel_create") + f"?unit={cast.cs2301.pk}")
    assert response.context["form"]["unit"].value() == cast.cs2301.pk
    unit_detail = client.get(reverse("unit_detail", args=[cast.cs2301.pk])).content.decode()
    assert reverse("channel_create") + f"?unit={cast.cs2301.pk}" in unit_detail


def test_edit_keeps_what_is_left_blank(client, cast, channel):
    client.force_login(cast.school_admin)
    url = reverse("channel_edit", args=[channel.pk])
    response = client.post(url, {"kind": "wecom", "name": "新名字", "url": "", "secret": ""})
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "新名字" and WECOM_KEY in channel.url and channel.secret == ""
    response = client.post(
        url, {"kind": "feishu", "name": "飞书群", "url": FEISHU + "x1", "secret": "fs", "keyword": "反诈"}
    )
    channel.refresh_from_db()
    assert (channel.kind, channel.url, channel.secret, channel.keyword) == (
        "feishu",
        FEISHU + "x1",
        "fs",
        "反诈",
    )
    client.post(url, {"kind": "feishu", "name": "飞书群", "url": "", "secret": "", "clear_secret": "on"})
    channel.refresh_from_db()
    assert channel.secret == "" and channel.url == FEISHU + "x1" and channel.keyword == ""
    # Switching to e-mail needs an address: the webhook URL is not one.
    response = client.post(url, {"kind": "email", "name": "邮箱", "url": "", "secret": ""})
    assert response.status_code == 400
    channel.refresh_from_db()
    assert channel.kind == "feishu"


def test_disable_and_enable(client, cast, channel):
    client.force_login(cast.college_admin)
    assert client.post(reverse("channel_disable", args=[channel.pk])).status_code == 302
    channel.refresh_from_db()
    assert not channel.is_active
    body = client.get(reverse("channel_list")).content.decode()
    assert "已停用" in body and reverse("channel_test", args=[channel.pk]) not in body
    response = client.post(reverse("channel_test", args=[channel.pk]))
    assert "已停用" in " ".join(notes(response)) and not Outbox.objects.exists()
    client.post(reverse("channel_enable", args=[channel.pk]))
    channel.refresh_from_db()
    assert channel.is_active


def test_the_actions_check_their_input(cast, channel):
    with pytest.raises(ValidationError):
        actions.add_channel(unit=cast.uni, kind="in_app", name="x", url=WECOM + "k")
    with pytest.raises(ValidationError):
        actions.add_channel(unit=cast.uni, kind="wecom", name="  ", url=WECOM + "k")
    with pytest.raises(ValidationError):
        actions.update_channel(channel, kind="email", name="x")
    email = actions.add_channel(unit=cast.uni, kind="email", name="保卫处", url="baowei@example.edu.cn")
    assert email.url == "mailto:baowei@example.edu.cn" and email.email_address == "baowei@example.edu.cn"
    assert email.masked_url == "baowei@example.edu.cn"


# Test messages -----------------------------------------------------------------------------------


def test_test_message_reaches_a_signed_dingtalk_robot(client, cast, robots):
    robot = robots.dingtalk.add_robot(secret="SECk")
    channel = actions.add_channel(
        unit=cast.cs2301, kind="dingtalk", name="钉钉群", url=robot.url, secret="SECk"
    )
    client.force_login(cast.college_admin)
    response = client.post(reverse("channel_test", args=[channel.pk]))
    assert response.status_code == 302
    assert "测试消息已发送" in " ".join(notes(response))
    row = Outbox.objects.get()
    assert (row.status, row.channel, row.attempts) == (Outbox.Status.SENT, channel, 1)
    (exchange,) = robots.dingtalk.exchanges  # the fake checked the signature: it answered 0
    assert exchange.code == 0 and exchange.robot == robot.key
    (text,) = robot.texts
    assert text.startswith("测试消息\n") and "钉钉群（计科2301班）" in text and "院管理员" in text
    # Each click is a new message; the worker finds nothing left to send.
    client.post(reverse("channel_test", args=[channel.pk]))
    assert Outbox.objects.filter(status=Outbox.Status.SENT).count() == 2 and len(robot.texts) == 2
    assert delivery.deliver_pending().sent == 0


def test_a_failed_test_message_is_reported_in_words_and_not_retried(client, cast, robots):
    robot = robots.dingtalk.add_robot(secret="SECright")
    channel = actions.add_channel(
        unit=cast.cs2301, kind="dingtalk", name="群", url=robot.url, secret="SECwrong"
    )
    client.force_login(cast.school_admin)
    response = client.post(reverse("channel_test", args=[channel.pk]))
    assert "测试消息发送失败：签名不匹配：请检查渠道的签名密钥" in " ".join(notes(response))
    row = Outbox.objects.get()
    assert row.status == Outbox.Status.FAILED and row.attempts == delivery.MAX_ATTEMPTS
    assert row.last_error == "bad_signature"
    assert delivery.deliver_pending().sent == 0 and len(robots.dingtalk.exchanges) == 1
    body = client.get(reverse("channel_list")).content.decode()
    assert (
        "签名不匹配：请检查渠道的签名密钥" in body and "310000" not in body and "sign not match" not in body
    )
    channel.refresh_from_db()
    assert channel.last_error == "bad_signature" and channel.last_error_at is not None


def test_a_test_message_to_a_robot_at_its_rate_waits_for_the_window(client, cast, robots):
    robot = robots.wecom.add_robot()
    channel = actions.add_channel(unit=cast.cs2301, kind="wecom", name="群", url=robot.url)
    Channel.objects.filter(pk=channel.pk).update(recent_sends=[timezone.now().timestamp()] * 18)
    client.force_login(cast.school_admin)
    response = client.post(reverse("channel_test", args=[channel.pk]))
    assert "测试消息将在" in " ".join(notes(response)) and robots.wecom.exchanges == []
    row = Outbox.objects.get()
    assert row.status == Outbox.Status.PENDING and row.not_before > timezone.now() and row.attempts == 0


def test_test_message_to_an_email_channel(client, cast):
    channel = actions.add_channel(
        unit=cast.cs, kind="email", name="学院办公室", url="office@cs.example.edu.cn"
    )
    client.force_login(cast.college_admin)
    client.post(reverse("channel_test", args=[channel.pk]))
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["office@cs.example.edu.cn"]
    assert mail.outbox[0].subject == "测试消息"
    assert Outbox.objects.get().status == Outbox.Status.SENT


# Where the pages are reached from ----------------------------------------------------------------


def test_notifications_page_and_home_link_the_channels_for_editors_only(client, cast):
    for who, user in cast.users().items():
        client.force_login(user)
        for page in ("notification_list", "home"):
            body = client.get(reverse(page)).content.decode()
            assert (reverse("channel_list") in body) == (who in EDITORS), (who, page)


def test_list_query_count_does_not_grow(client, cast, django_assert_num_queries):
    for i in range(3):
        actions.add_channel(unit=cast.cs2301, kind="wecom", name=f"群{i}", url=f"{WECOM}{i}")
    client.force_login(cast.school_admin)
    # session, user, grants, count, page of channels (unit and latest message in the same query)
    with django_assert_num_queries(5):
        client.get(reverse("channel_list"))
    for i in range(3, 20):
        actions.add_channel(unit=cast.cs2302, kind="feishu", name=f"群{i}", url=f"{FEISHU}{i}")
    with django_assert_num_queries(5):
        response = client.get(reverse("channel_list"))
    assert len(response.context["page"].object_list) == 20
