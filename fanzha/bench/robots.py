"""Local fakes of the three chat-group robot services, for the tests and ``fanzha bench alert``.

Why fakes that refuse: a robot that accepts anything proves nothing — a bad signature, a missing
keyword, a text over the limit or the 21st message of a minute would all look delivered. Each fake
checks what its service checks, by its documentation, and answers with that service's documented
bodies; its signature checks are written here again from the documentation, not imported from the
code under test, so a mistake on either side shows.

WeCom group robot — 企业微信开发者中心「群机器人配置说明」(developer.work.weixin.qq.com/document/path/91770),
全局错误码:
    POST /cgi-bin/webhook/send?key=KEY, JSON ``{"msgtype": "text", "text": {"content": …}}`` (or
    markdown). Text content at most 2,048 bytes of UTF-8, markdown 4,096. 20 messages a minute per
    robot. Success ``{"errcode": 0, "errmsg": "ok"}``; an unknown key 93000 "invalid webhook url";
    content too long 40058 "… exceed max length …"; a bad body 40058 "invalid Request Parameter";
    an unknown msgtype 40008 "invalid message type"; over the rate 45009 "api freq out of limit".
DingTalk custom robot — 钉钉开放平台「自定义机器人接入」「自定义机器人安全设置」:
    POST /robot/send?access_token=TOKEN[&timestamp=MS&sign=SIGN], the same text body. A robot with
    加签 needs ``timestamp`` (ms, within an hour of now) and ``sign`` = urlencode(base64(HMAC-SHA256
    (key=secret, "timestamp\\nsecret"))); a robot with a custom keyword takes only texts containing
    one. 20 messages a minute; past that the robot is blocked for 10 minutes. Text at most 20,000
    bytes. Success ``{"errcode": 0, "errmsg": "ok"}``; no token 40035; unknown token 300001 "token is
    not exist"; 310000 "sign not match" / "invalid timestamp" / "keywords not in content"; 130101
    "send too fast, exceed 20 times per minute"; 460101 "message too long, exceed 20000 bytes".
Feishu custom bot — 飞书开放平台「自定义机器人使用指南」(open.feishu.cn):
    POST /open-apis/bot/v2/hook/TOKEN, JSON ``{"msg_type": "text", "content": {"text": …}}``, with
    ``timestamp`` (s, within an hour) and ``sign`` = base64(HMAC-SHA256(key="timestamp\\nsecret",
    msg="")) in the body for a signed bot; a keyword bot takes only texts containing one. The request
    body at most 20 KB. 100 messages a minute and 5 a second per bot. Success ``{"StatusCode": 0,
    "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}``; an unknown token 19001
    "param invalid: incoming webhook access token invalid"; 9499 "Bad Request" (HTTP 400) for a body
    that is too big or malformed; 19021 "sign match fail or timestamp is not within one hour from
    current time"; 19024 "Key Words Not Found"; 11232 "frequency limited …".

Each fake keeps its own clock (``advance`` moves it, for a test of a window's end without waiting),
records every request and what it answered, and can simulate an outage (``outage``: the next
requests get a gateway's 502 page, as a load balancer in front of the service would answer).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from . import fakehttp

WECOM, DINGTALK, FEISHU = "wecom", "dingtalk", "feishu"
HOUR = 3600.0
FEISHU_OK = {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}
OUTAGE_PAGE = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass
class Robot:
    """One robot of a fake service: its key, its security settings and what it accepted."""

    service: FakeService
    key: str
    secret: str = ""  # 加签 / 签名校验
    keyword: str = ""  # 自定义关键词
    texts: list[str] = field(default_factory=list)  # accepted messages, in order
    sent_at: deque[float] = field(default_factory=deque)  # accepted, by the fake's clock
    blocked_until: float = 0.0

    @property
    def url(self) -> str:
        base = self.service.base
        if self.service.kind == WECOM:
            return f"{base}/cgi-bin/webhook/send?key={self.key}"
        if self.service.kind == DINGTALK:
            return f"{base}/robot/send?access_token={self.key}"
        return f"{base}/open-apis/bot/v2/hook/{self.key}"


@dataclass
class Exchange:
    """One request and the fake's answer."""

    robot: str  # the key named in the request ("" when none)
    query: dict[str, str]
    body: Any
    status: int
    answer: Any
    at: float

    @property
    def code(self) -> int | None:
        if isinstance(self.answer, dict):
            return self.answer.get("errcode", self.answer.get("code"))
        return None


class Refusal(Exception):
    def __init__(self, answer: dict[str, Any], status: int = 200) -> None:
        self.answer, self.status = answer, status


class FakeService:
    """One service on a port of 127.0.0.1 (see the module's docstring for what it checks)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.base = ""
        self.robots: dict[str, Robot] = {}
        self.exchanges: list[Exchange] = []
        self.offset = 0.0
        self.outages = 0
        self.lock = threading.Lock()
        self.on_accept: list[Callable[[Robot, str, float], None]] = []

    # Setting up ---------------------------------------------------------------------------------

    def add_robot(self, key: str | None = None, secret: str = "", keyword: str = "") -> Robot:
        robot = Robot(self, key or secrets.token_hex(16), secret, keyword)
        with self.lock:
            self.robots[robot.key] = robot
        return robot

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock on (a window ends without the test waiting for it)."""
        with self.lock:
            self.offset += seconds

    def outage(self, requests: int = 1) -> None:
        """Answer the next ``requests`` with a gateway's 502 page."""
        with self.lock:
            self.outages += requests

    # Reading ------------------------------------------------------------------------------------

    @property
    def accepted(self) -> list[str]:
        return [text for robot in self.robots.values() for text in robot.texts]

    def codes(self) -> list[int | None]:
        """The result code of every answer so far, in order (0 for accepted)."""
        return [e.code for e in self.exchanges]

    # Answering ----------------------------------------------------------------------------------

    def handle(self, path: str, raw: bytes) -> tuple[int, Any]:
        split = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(split.query))
        try:
            body: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        with self.lock:
            now = self.now()
            key = ""
            answer: Any
            if self.outages:
                self.outages -= 1
                status, answer = 502, OUTAGE_PAGE
            else:
                try:
                    check = {WECOM: self._wecom, DINGTALK: self._dingtalk, FEISHU: self._feishu}[self.kind]
                    key, text, robot = check(split.path, query, raw, body, now)
                    robot.texts.append(text)
                    robot.sent_at.append(now)
                    status, answer = (
                        200,
                        (FEISHU_OK if self.kind == FEISHU else {"errcode": 0, "errmsg": "ok"}),
                    )
                    for listener in self.on_accept:
                        listener(robot, text, time.perf_counter())
                except Refusal as refusal:
                    status, answer = refusal.status, refusal.answer
            self.exchanges.append(Exchange(key, query, body, status, answer, now))
        return status, answer

    @staticmethod
    def _recent(robot: Robot, now: float, seconds: float) -> int:
        return sum(1 for t in robot.sent_at if now - seconds < t <= now)

    def _wecom(
        self, path: str, query: dict[str, str], raw: bytes, body: Any, now: float
    ) -> tuple[str, str, Robot]:
        def refuse(code: int, message: str) -> Refusal:
            return Refusal({"errcode": code, "errmsg": message})

        key = query.get("key", "")
        robot = self.robots.get(key)
        if path != "/cgi-bin/webhook/send" or robot is None:
            raise refuse(93000, "invalid webhook url")
        if not isinstance(body, dict):
            raise refuse(40058, "invalid Request Parameter")
        msgtype = body.get("msgtype")
        if msgtype not in ("text", "markdown"):
            raise refuse(40008, "invalid message type")
        content = (body.get(msgtype) or {}).get("content") if isinstance(body.get(msgtype), dict) else None
        if not isinstance(content, str) or not content:
            raise refuse(40058, "invalid Request Parameter")
        limit = 2048 if msgtype == "text" else 4096
        if len(content.encode("utf-8")) > limit:
            raise refuse(40058, f"{msgtype}.content exceed max length {limit}")
        if self._recent(robot, now, 60) >= 20:
            raise refuse(45009, "api freq out of limit")
        return key, content, robot

    def _dingtalk(
        self, path: str, query: dict[str, str], raw: bytes, body: Any, now: float
    ) -> tuple[str, str, Robot]:
        def refuse(code: int, message: str) -> Refusal:
            return Refusal({"errcode": code, "errmsg": message})

        key = query.get("access_token", "")
        if path != "/robot/send" or not key:
            raise refuse(40035, "缺少参数 access_token")
        robot = self.robots.get(key)
        if robot is None:
            raise refuse(300001, "token is not exist")
        if robot.blocked_until > now:
            raise refuse(130101, "send too fast, exceed 20 times per minute")
        if robot.secret:
            stamp = query.get("timestamp", "")
            if not stamp.isdigit() or abs(int(stamp) / 1000 - now) > HOUR:
                raise refuse(310000, "invalid timestamp")
            mac = hmac.new(robot.secret.encode(), f"{stamp}\n{robot.secret}".encode(), hashlib.sha256)
            if not hmac.compare_digest(query.get("sign", ""), base64.b64encode(mac.digest()).decode()):
                raise refuse(310000, "sign not match")
        if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown"):
            raise refuse(300001, "param error")
        part = body.get(body["msgtype"])
        content = (
            (part.get("content") if body["msgtype"] == "text" else part.get("text"))
            if isinstance(part, dict)
            else None
        )
        if not isinstance(content, str) or not content:
            raise refuse(300001, "param error")
        if len(content.encode("utf-8")) > 20000:
            raise refuse(460101, "message too long, exceed 20000 bytes")
        if robot.keyword and robot.keyword not in content:
            raise refuse(310000, "keywords not in content")
        if self._recent(robot, now, 60) >= 20:
            robot.blocked_until = now + 600
            raise refuse(130101, "send too fast, exceed 20 times per minute")
        return key, content, robot

    def _feishu(
        self, path: str, query: dict[str, str], raw: bytes, body: Any, now: float
    ) -> tuple[str, str, Robot]:
        def refuse(code: int, message: str, status: int = 200) -> Refusal:
            return Refusal({"code": code, "msg": message, "data": {}}, status)

        prefix = "/open-apis/bot/v2/hook/"
        key = path[len(prefix) :] if path.startswith(prefix) else ""
        robot = self.robots.get(key)
        if robot is None:
            raise refuse(19001, "param invalid: incoming webhook access token invalid")
        if len(raw) > 20 * 1024 or not isinstance(body, dict):
            raise refuse(9499, "Bad Request", 400)
        if robot.secret:
            stamp = str(body.get("timestamp", ""))
            mac = hmac.new(f"{stamp}\n{robot.secret}".encode(), b"", hashlib.sha256)
            if (
                not stamp.isdigit()
                or abs(int(stamp) - now) > HOUR
                or not hmac.compare_digest(str(body.get("sign", "")), base64.b64encode(mac.digest()).decode())
            ):
                raise refuse(19021, "sign match fail or timestamp is not within one hour from current time")
        content = body.get("content")
        text = content.get("text") if body.get("msg_type") == "text" and isinstance(content, dict) else None
        if not isinstance(text, str) or not text:
            raise refuse(9499, "Bad Request", 400)
        if robot.keyword and robot.keyword not in text:
            raise refuse(19024, "Key Words Not Found")
        if self._recent(robot, now, 60) >= 100 or self._recent(robot, now, 1) >= 5:
            raise refuse(11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[1500]")
        return key, text, robot


@contextmanager
def serving(service: FakeService) -> Iterator[FakeService]:
    """Serve ``service`` on a free port of 127.0.0.1 until the block ends."""

    def answer(request: BaseHTTPRequestHandler, raw: bytes) -> tuple[int, bytes, str]:
        status, body = service.handle(request.path, raw)
        if isinstance(body, bytes):
            return status, body, "text/html"
        return status, json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8"

    with fakehttp.serve(answer, f"fake-{service.kind}") as base:
        service.base = base
        yield service


@dataclass
class Fakes:
    wecom: FakeService
    dingtalk: FakeService
    feishu: FakeService

    def __getitem__(self, kind: str) -> FakeService:
        return {WECOM: self.wecom, DINGTALK: self.dingtalk, FEISHU: self.feishu}[kind]

    def allowed_hosts(self) -> list[str]:
        """The entries of ``FANZHA_WEBHOOK_ALLOWED_HOSTS`` that let delivery reach the fakes."""
        return [s.base for s in (self.wecom, self.dingtalk, self.feishu)]

    def advance(self, seconds: float) -> None:
        for service in (self.wecom, self.dingtalk, self.feishu):
            service.advance(seconds)


@contextmanager
def running_fakes() -> Iterator[Fakes]:
    """The three fakes, each on its own port, until the block ends."""
    with ExitStack() as stack:
        yield Fakes(*(stack.enter_context(serving(FakeService(k))) for k in (WECOM, DINGTALK, FEISHU)))
