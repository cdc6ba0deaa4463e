"""The fakes of the robot services (fanzha/bench/robots.py) refuse what the real services refuse, with
their documented bodies: a fake that accepts anything would prove nothing about delivery. Requests are
built here by hand from the services' documentation, not by the code under test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
import urllib.parse
from typing import Any

import pytest

from fanzha.bench.robots import Fakes, FakeService, running_fakes


@pytest.fixture(scope="module")
def fakes():
    with running_fakes() as running:
        yield running


def post(url: str, body: Any, raw: bytes | None = None) -> tuple[int, Any]:
    split = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(split.hostname, split.port, timeout=5)
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    path = split.path + (f"?{split.query}" if split.query else "")
    connection.request("POST", path, body=data, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    try:
        return response.status, json.loads(payload)
    except ValueError:
        return response.status, payload


def text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def ding_url(url: str, secret: str, ms: int | None = None, sign: str | None = None) -> str:
    ms = int(time.time() * 1000) if ms is None else ms
    if sign is None:
        mac = hmac.new(secret.encode(), f"{ms}\n{secret}".encode(), hashlib.sha256).digest()
        sign = base64.b64encode(mac).decode()
    return f"{url}&{urllib.parse.urlencode({'timestamp': ms, 'sign': sign})}"


def feishu_body(content: str, secret: str = "", seconds: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"msg_type": "text", "content": {"text": content}}
    if secret:
        seconds = int(time.time()) if seconds is None else seconds
        mac = hmac.new(f"{seconds}\n{secret}".encode(), b"", hashlib.sha256).digest()
        body = {"timestamp": str(seconds), "sign": base64.b64encode(mac).decode(), **body}
    return body


# WeCom ---------------------------------------------------------------------------------------------


def test_wecom_accepts_the_documented_text_and_answers_ok(fakes: Fakes):
    robot = fakes.wecom.add_robot()
    assert post(robot.url, text("你好")) == (200, {"errcode": 0, "errmsg": "ok"})
    assert robot.texts == ["你好"]


def test_wecom_refuses_unknown_keys_bad_bodies_and_long_texts(fakes: Fakes):
    robot = fakes.wecom.add_robot()
    unknown = robot.url.replace(robot.key, "nope")
    assert post(unknown, text("x"))[1] == {"errcode": 93000, "errmsg": "invalid webhook url"}
    assert post(robot.url, None, raw=b"<html>")[1]["errcode"] == 40058
    assert post(robot.url, {"msgtype": "file", "file": {}})[1]["errcode"] == 40008
    assert post(robot.url, text("字" * 682))[0:2] == (200, {"errcode": 0, "errmsg": "ok"})  # 2,046 bytes
    status, answer = post(robot.url, text("字" * 683))  # 2,049 bytes
    assert answer == {"errcode": 40058, "errmsg": "text.content exceed max length 2048"}
    assert robot.texts == ["字" * 682]


def test_wecom_refuses_the_21st_message_of_a_minute_and_takes_more_once_it_has_passed():
    service = FakeService("wecom")  # answered in-process (not served): the same checks, no sockets
    robot = service.add_robot()

    def send(content: str) -> dict[str, Any]:
        return service.handle(robot.url, json.dumps(text(content)).encode())[1]

    assert [send(str(i))["errcode"] for i in range(20)] == [0] * 20
    assert send("21") == {"errcode": 45009, "errmsg": "api freq out of limit"}
    service.advance(61)
    assert send("22")["errcode"] == 0
    assert len(robot.texts) == 21


# DingTalk ------------------------------------------------------------------------------------------


def test_dingtalk_checks_the_signature_and_its_time(fakes: Fakes):
    robot = fakes.dingtalk.add_robot(secret="SECfake")
    assert post(ding_url(robot.url, "SECfake"), text("签名正确"))[1] == {"errcode": 0, "errmsg": "ok"}
    bad = post(ding_url(robot.url, "SECwrong"), text("x"))[1]
    assert bad == {"errcode": 310000, "errmsg": "sign not match"}
    old = int((time.time() - 3700) * 1000)
    assert post(ding_url(robot.url, "SECfake", ms=old), text("x"))[1]["errmsg"] == "invalid timestamp"
    assert post(robot.url, text("x"))[1]["errmsg"] == "invalid timestamp"  # unsigned
    assert robot.texts == ["签名正确"]


def test_dingtalk_checks_the_keyword_the_token_and_the_size(fakes: Fakes):
    robot = fakes.dingtalk.add_robot(keyword="反诈")
    assert post(robot.url, text("今日提示"))[1] == {"errcode": 310000, "errmsg": "keywords not in content"}
    assert post(robot.url, text("【反诈】今日提示"))[1]["errcode"] == 0
    unknown = robot.url.replace(robot.key, "nope")
    assert post(unknown, text("反诈"))[1] == {"errcode": 300001, "errmsg": "token is not exist"}
    assert post(robot.url, text("反诈" + "字" * 6700))[1]["errcode"] == 460101


def test_dingtalk_blocks_the_robot_for_ten_minutes_after_20_a_minute():
    service = FakeService("dingtalk")
    robot = service.add_robot()
    path = robot.url
    codes = [service.handle(path, json.dumps(text(str(i))).encode())[1]["errcode"] for i in range(22)]
    assert codes == [0] * 20 + [130101, 130101]
    service.advance(120)  # the minute is over, the block is not
    assert service.handle(path, json.dumps(text("x")).encode())[1]["errcode"] == 130101
    service.advance(600)
    assert service.handle(path, json.dumps(text("x")).encode())[1]["errcode"] == 0


# Feishu --------------------------------------------------------------------------------------------


def test_feishu_checks_signature_keyword_and_answers_its_success_body(fakes: Fakes):
    robot = fakes.feishu.add_robot(secret="fs-secret", keyword="反诈")
    status, answer = post(robot.url, feishu_body("【反诈】提示", "fs-secret"))
    assert status == 200 and answer["code"] == 0 and answer["msg"] == "success" and answer["StatusCode"] == 0
    wrong = post(robot.url, feishu_body("【反诈】提示", "other"))[1]
    assert wrong["code"] == 19021 and "sign match fail" in wrong["msg"]
    late = post(robot.url, feishu_body("【反诈】提示", "fs-secret", seconds=int(time.time()) - 3700))[1]
    assert late["code"] == 19021
    assert post(robot.url, feishu_body("提示", "fs-secret"))[1]["code"] == 19024
    assert post(robot.url.replace(robot.key, "nope"), feishu_body("x"))[1]["code"] == 19001
    assert post(robot.url, None, raw=b"{" + b" " * (21 * 1024) + b"}") == (
        400,
        {"code": 9499, "msg": "Bad Request", "data": {}},
    )
    assert robot.texts == ["【反诈】提示"]


def test_feishu_takes_five_a_second_and_a_hundred_a_minute():
    service = FakeService("feishu")
    robot = service.add_robot()
    path = robot.url

    def send() -> int:
        return service.handle(path, json.dumps(feishu_body("x")).encode())[1]["code"]

    assert [send() for _ in range(6)] == [0] * 5 + [11232]
    for _ in range(19):
        service.advance(1.01)
        assert [send() for _ in range(5)] == [0] * 5
    service.advance(1.01)
    assert send() == 11232  # a hundred within the minute
    assert len(robot.texts) == 100


def test_an_outage_answers_a_gateway_page(fakes: Fakes):
    robot = fakes.wecom.add_robot()
    fakes.wecom.outage(1)
    status, answer = post(robot.url, text("x"))
    assert status == 502 and isinstance(answer, bytes) and b"Bad Gateway" in answer
    assert post(robot.url, text("x"))[1]["errcode"] == 0
