"""Delivery to the chat-group robots, against the local fakes of the services (fanzha/bench/robots.py)
that check signatures, keywords, sizes and rates and answer with the documented bodies:

* only the documented success body counts as sent; permanent errors fail at once, in words;
  transient ones are retried (security item 25);
* a burst is paced under each robot's limit, alerts go first, a rate-limit answer waits for the
  service's window (item 24);
* a channel's keyword is carried by every message (item 26);
* every message is fitted to the service's limit (item 23, the delivery layer).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from fanzha.notify import actions as notify
from fanzha.notify import delivery, errors, robots
from fanzha.notify.models import Channel, Outbox
from fanzha.notify.webhooks import Answer

pytestmark = pytest.mark.django_db


def channel_to(cast, robot, kind: str, **kw) -> Channel:
    return notify.add_channel(unit=cast.cs2301, kind=kind, name=f"{kind}群", url=robot.url, **kw)


def queue(channel: Channel, key: str, body: str = "正文", **kw) -> Outbox:
    return notify.queue(channel.kind, channel, subject="主题", body=body, key=key, **kw)


def fresh(row: Outbox) -> Outbox:
    return Outbox.objects.get(pk=row.pk)


# Item 25: what counts as sent ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
def test_each_service_takes_a_signed_message_and_only_then_it_counts_as_sent(cast, robots, kind):
    robot = robots[kind].add_robot(secret="" if kind == "wecom" else "SEC-right")
    channel = channel_to(cast, robot, kind, secret="" if kind == "wecom" else "SEC-right")
    row = delivery.deliver_now(queue(channel, "one"))
    assert row.status == Outbox.Status.SENT and robot.texts == ["主题\n正文"]
    channel.refresh_from_db()
    assert channel.last_ok_at is not None and channel.last_error_text == ""


@pytest.mark.parametrize(
    ("answer", "page"),
    [
        (None, b"<html><title>Portal</title><form>login</form></html>"),  # a captive portal
        ({"ok": True}, None),  # JSON, but not the service's
        ({"errcode": "0", "errmsg": "ok"}, None),  # WeCom's success is the number 0, not a string
    ],
)
def test_a_200_that_is_not_the_documented_success_is_not_sent_and_is_retried(cast, receiver, answer, page):
    receiver.page = page
    if answer is not None:
        receiver.answer = answer
    channel = notify.add_channel(unit=cast.cs2301, kind="wecom", name="群", url=f"{receiver.url}/hook")
    row = delivery.deliver_now(queue(channel, "portal"))
    assert row.status == Outbox.Status.FAILED and row.last_error == "bad_answer"
    assert row.attempts == 1 and row.not_before is not None  # transient: retried after the back-off
    assert "认证页面" in row.error_text and "Portal" not in row.error_text


@pytest.mark.parametrize(
    ("kind", "robot_kw", "channel_kw", "reason", "words"),
    [
        ("dingtalk", {"secret": "SEC-right"}, {"secret": "SEC-wrong"}, "bad_signature", "签名不匹配"),
        ("feishu", {"secret": "fs-right"}, {"secret": "fs-wrong"}, "bad_signature", "签名不匹配"),
        ("dingtalk", {"keyword": "反诈"}, {}, "keyword", "关键词"),
        ("feishu", {"keyword": "反诈"}, {}, "keyword", "关键词"),
    ],
)
def test_permanent_errors_fail_at_once_with_the_cause_in_words(
    cast, robots, caplog, kind, robot_kw, channel_kw, reason, words
):
    robot = robots[kind].add_robot(**robot_kw)
    channel = channel_to(cast, robot, kind, **channel_kw)
    row = queue(channel, "x")
    with caplog.at_level(logging.DEBUG):
        assert delivery.deliver_pending().failed == 1
    row = fresh(row)
    assert row.status == Outbox.Status.FAILED and row.attempts == delivery.MAX_ATTEMPTS
    assert row.last_error == reason and words in row.error_text and row.not_before is None
    assert delivery.deliver_pending(timezone.now() + timedelta(days=2)).failed == 0  # never again
    assert len(robots[kind].exchanges) == 1
    channel.refresh_from_db()
    assert channel.last_error == reason and words in channel.last_error_text
    # The service's own text is neither kept nor logged; a short code is.
    for remote in ("sign not match", "sign match fail", "keywords not in content", "Key Words Not Found"):
        assert remote not in caplog.text and remote not in row.last_error
    assert "code 310000" in caplog.text or "code 190" in caplog.text


DOCUMENTED = [  # (service, HTTP status, body, reason, permanent)
    ("wecom", 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, "bad_key", True),
    ("wecom", 200, {"errcode": 40058, "errmsg": "text.content exceed max length 2048"}, "too_long", True),
    ("wecom", 200, {"errcode": -1, "errmsg": "system busy"}, "service_error", False),
    ("dingtalk", 200, {"errcode": 310000, "errmsg": "sign not match"}, "bad_signature", True),
    ("dingtalk", 200, {"errcode": 310000, "errmsg": "invalid timestamp"}, "bad_timestamp", True),
    ("dingtalk", 200, {"errcode": 310000, "errmsg": "keywords not in content"}, "keyword", True),
    ("dingtalk", 200, {"errcode": 310000, "errmsg": "ip 1.2.3.4 not in whitelist"}, "ip_not_allowed", True),
    ("dingtalk", 200, {"errcode": 300001, "errmsg": "token is not exist"}, "bad_key", True),
    (
        "dingtalk",
        200,
        {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"},
        "too_long",
        True,
    ),
    (
        "feishu",
        200,
        {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"},
        "bad_signature",
        True,
    ),
    ("feishu", 200, {"code": 19022, "msg": "Ip Not Allowed"}, "ip_not_allowed", True),
    ("feishu", 200, {"code": 19024, "msg": "Key Words Not Found"}, "keyword", True),
    ("feishu", 400, {"code": 9499, "msg": "Bad Request", "data": {}}, "rejected", True),
    ("feishu", 200, {"StatusCode": 19021, "StatusMessage": "sign error"}, "bad_signature", True),
    ("feishu", 200, {"code": 9499, "msg": "Bad Request", "StatusCode": 0}, "rejected", True),
    ("wecom", 404, {"error": "not found"}, "rejected", True),  # a 4xx without the service's body
    ("wecom", 503, {"error": "unavailable"}, "service_error", False),
    ("wecom", 200, {}, "bad_answer", False),
]


@pytest.mark.parametrize(("kind", "status", "body", "reason", "permanent"), DOCUMENTED)
def test_each_documented_answer_means_what_the_service_says(kind, status, body, reason, permanent):
    service = robots.SERVICES[kind]
    with pytest.raises(errors.DeliveryError) as info:
        robots.check_answer(kind, Answer(status, json.dumps(body).encode()), timezone.now(), service)
    assert info.value.reason == reason
    assert isinstance(info.value, errors.PermanentError) == permanent


@pytest.mark.parametrize(
    "answer",
    [
        (200, {"errcode": 0, "errmsg": "ok"}),
        (200, {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}),
    ],
)
def test_only_the_documented_success_passes(answer):
    status, body = answer
    kind = "feishu" if "code" in body else "wecom"
    robots.check_answer(
        kind, Answer(status, json.dumps(body).encode()), timezone.now(), robots.SERVICES[kind]
    )
    with pytest.raises(errors.DeliveryError):  # the same body with another status is not a success
        robots.check_answer(
            kind, Answer(202, json.dumps(body).encode()), timezone.now(), robots.SERVICES[kind]
        )


def test_rate_limit_answers_wait_for_the_services_window():
    now = timezone.now()
    for kind, body, wait in (
        ("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"}, timedelta(seconds=62)),
        ("dingtalk", {"errcode": 130101, "errmsg": "send too fast"}, timedelta(minutes=10)),
        ("feishu", {"code": 11232, "msg": "frequency limited"}, timedelta(seconds=62)),
        ("wecom", None, timedelta(seconds=62)),  # HTTP 429
    ):
        answer = Answer(429, b"") if body is None else Answer(200, json.dumps(body).encode())
        with pytest.raises(errors.RateLimited) as info:
            robots.check_answer(kind, answer, now, robots.SERVICES[kind])
        assert info.value.until == now + wait, kind


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
def test_an_unknown_robot_fails_at_once(cast, robots, kind):
    robot = robots[kind].add_robot()
    channel = notify.add_channel(
        unit=cast.cs2301, kind=kind, name="群", url=robot.url.replace(robot.key, "removed-robot")
    )
    row = delivery.deliver_now(queue(channel, "x"))
    assert (row.status, row.last_error, row.attempts) == (
        Outbox.Status.FAILED,
        "bad_key",
        delivery.MAX_ATTEMPTS,
    )
    assert "Webhook 地址" in row.error_text


def test_a_gateway_error_is_retried_and_then_sent_once(cast, robots):
    robot = robots.wecom.add_robot()
    channel = channel_to(cast, robot, "wecom")
    row = queue(channel, "x")
    robots.wecom.outage(1)
    now = timezone.now()
    assert delivery.deliver_pending(now).failed == 1
    row = fresh(row)
    assert (row.status, row.last_error, row.attempts) == (Outbox.Status.FAILED, "service_error", 1)
    assert row.not_before == now + delivery.BACKOFF[0]
    assert delivery.deliver_pending(now + delivery.BACKOFF[0]).sent == 1
    assert robot.texts == ["主题\n正文"]


# Item 24: pacing, alerts first, rate-limit answers ---------------------------------------------------


def test_a_burst_of_tips_is_paced_under_the_limit_and_an_alert_goes_first(cast, robots):
    robot = robots.dingtalk.add_robot(secret="SECburst")
    channel = channel_to(cast, robot, "dingtalk", secret="SECburst")
    tips = [queue(channel, f"tip:{i}", body=f"提示{i:02d}") for i in range(25)]
    t0 = timezone.now()
    result = delivery.deliver_pending(t0)
    assert (result.sent, result.failed) == (18, 0)  # 20 a minute, 2 of them kept for alerts
    assert set(robots.dingtalk.codes()) == {0}  # the fake refused nothing and blocked nothing

    alert = queue(channel, "case-alert:1", body="紧急止付预警", priority=Outbox.Priority.ALERT)
    assert delivery.deliver_pending(t0 + timedelta(seconds=2)).sent == 1  # at once, not after the tips
    assert robot.texts[-1] == "主题\n紧急止付预警" and fresh(alert).status == Outbox.Status.SENT

    waiting = [fresh(t) for t in tips[18:]]
    assert {t.status for t in waiting} == {Outbox.Status.PENDING}
    assert {t.attempts for t in waiting} == {0}  # waiting for the window is not a failed attempt
    assert min(t.not_before for t in waiting) > t0 + timedelta(seconds=60)

    robots.advance(63)
    assert delivery.deliver_pending(t0 + timedelta(seconds=63)).sent == 7
    assert set(robots.dingtalk.codes()) == {0} and len(robot.texts) == 26
    assert [t for t in robot.texts if "提示" in t] == [f"主题\n提示{i:02d}" for i in range(25)]


def test_an_alert_queued_after_a_burst_is_delivered_before_it(cast, robots):
    robot = robots.wecom.add_robot()
    channel = channel_to(cast, robot, "wecom")
    for i in range(25):
        queue(channel, f"tip:{i}", body=f"提示{i}")
    queue(channel, "case-alert:1", body="紧急止付预警", priority=Outbox.Priority.ALERT)
    delivery.deliver_pending()
    assert robot.texts[0] == "主题\n紧急止付预警"
    assert len(robot.texts) == 18 and set(robots.wecom.codes()) == {0}  # the alert, then 17 tips


def test_a_rate_limit_answer_waits_until_the_services_window_ends(cast, robots):
    robot = robots.dingtalk.add_robot()
    channel = channel_to(cast, robot, "dingtalk")
    robot.blocked_until = robots.dingtalk.now() + 600  # blocked by sends from elsewhere
    first, second = queue(channel, "a"), queue(channel, "b")
    now = timezone.now()
    result = delivery.deliver_pending(now)
    assert (result.sent, result.failed, result.deferred) == (0, 0, 1)
    for row in (fresh(first), fresh(second)):
        assert row.status == Outbox.Status.PENDING and row.attempts == 0  # not a failure
        assert row.not_before == now + timedelta(minutes=10)  # DingTalk holds a robot 10 minutes
    assert fresh(first).last_error == "rate_limited"
    assert len(robots.dingtalk.exchanges) == 1  # the second was not even tried
    channel.refresh_from_db()
    assert channel.blocked_until == now + timedelta(minutes=10) and "限流" in channel.last_error_text
    robots.advance(601)
    assert delivery.deliver_pending(now + timedelta(minutes=10)).sent == 2


def test_a_wecom_rate_limit_answer_waits_a_minute(cast, robots):
    robot = robots.wecom.add_robot()
    channel = channel_to(cast, robot, "wecom")
    robot.sent_at.extend([robots.wecom.now()] * 20)  # 20 sent this minute by someone else
    row = queue(channel, "a", priority=Outbox.Priority.ALERT)
    now = timezone.now()
    assert delivery.deliver_now(row, now).status == Outbox.Status.PENDING
    assert fresh(row).not_before == now + robots_penalty("wecom") and fresh(row).attempts == 0
    assert robots.wecom.codes() == [45009]


def robots_penalty(kind: str) -> timedelta:
    return robots.SERVICES[kind].penalty


# Item 26: keywords -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dingtalk", "feishu"])
def test_a_keyword_robot_gets_every_message_once_the_channel_has_its_keyword(cast, robots, kind):
    robot = robots[kind].add_robot(keyword="反诈提醒")
    channel = channel_to(cast, robot, kind)
    before = delivery.deliver_now(queue(channel, "before"))
    assert (before.status, before.last_error) == (Outbox.Status.FAILED, "keyword")
    assert robots[kind].codes() == [310000 if kind == "dingtalk" else 19024]

    notify.update_channel(channel, kind=kind, name=channel.name, keyword="反诈提醒")
    channel.refresh_from_db()
    for key in ("tip", "reminder", "report"):
        assert delivery.deliver_now(queue(channel, key)).status == Outbox.Status.SENT
    assert robot.texts == ["【反诈提醒】\n主题\n正文"] * 3
    # A message that has the word already is not given it twice. (Two seconds on: Feishu takes five a
    # second, and pacing keeps one of them for alerts.)
    delivery.deliver_now(queue(channel, "has-it", body="本周反诈提醒"), timezone.now() + timedelta(seconds=2))
    assert robot.texts[-1] == "主题\n本周反诈提醒"


# Item 23: every message fits the service -----------------------------------------------------------


def transfers_text(n: int) -> str:
    lines = [
        f"第{i + 1}笔：2026-11-30 10:{i:02d} 向 6222 0212 3456 7890 {i:03d}（某某银行某某支行，收款人李某某）"
        f"转账 4,980.00 元（银行转账）"
        for i in range(n)
    ]
    return "\n".join(["受害人：张*，计科2301班", *lines, "请立即联系银行紧急止付。"])


def test_a_long_message_is_fitted_to_wecoms_2048_bytes_with_a_link_to_the_full_record(cast, robots, settings):
    settings.FANZHA_SITE_URL = "https://fanzha.example.edu.cn"
    robot = robots.wecom.add_robot()
    channel = channel_to(cast, robot, "wecom")
    body = transfers_text(16)
    assert len(("主题\n" + body).encode()) > 2048  # the 16 transfers made 2,457 bytes
    row = delivery.deliver_now(queue(channel, "long", body=body, link="/cases/alerts/7/"))
    assert row.status == Outbox.Status.SENT
    (text,) = robot.texts
    assert len(text.encode()) <= 2048
    assert text.endswith("…（全文见平台）\nhttps://fanzha.example.edu.cn/cases/alerts/7/")
    kept = text.split("\n")[:-2]
    assert all(line in ("主题\n" + body).split("\n") for line in kept)  # cut between lines, not inside
    assert fresh(row).body == body  # the row keeps the whole text; only the robot gets the short one


@pytest.mark.parametrize(("kind", "size"), [("dingtalk", 20000), ("feishu", 20 * 1024)])
def test_long_messages_fit_dingtalk_and_feishu(cast, robots, kind, size):
    robot = robots[kind].add_robot()
    channel = channel_to(cast, robot, kind)
    body = "\n".join(f"第{i}行：" + "字" * 40 for i in range(400))  # about 50 KB
    assert delivery.deliver_now(queue(channel, "long", body=body)).status == Outbox.Status.SENT
    (text,) = robot.texts
    assert len(text.encode()) < size and text.endswith("…（全文见平台）")


def test_fit_keeps_whole_lines_and_cuts_a_single_long_line():
    assert robots.fit("短", 2048) == "短"
    text = robots.fit("a" * 3000, 100, tail="https://x/1")
    assert len(text.encode()) <= 100 and text.endswith("…（全文见平台）\nhttps://x/1")
    lines = robots.fit("一行\n二行\n" + "三" * 100, 60)
    assert lines.startswith("一行\n二行\n") and len(lines.encode()) <= 60
