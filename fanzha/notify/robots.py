"""The three chat-group robot services: their limits, their message format, and what their answers mean.

Documented behaviour this follows (the local fakes in ``fanzha/bench/robots.py`` check the same):

* WeCom group robot (企业微信「群机器人配置说明」): ``{"msgtype": "text", "text": {"content": …}}``; the
  content at most 2,048 bytes of UTF-8 (markdown 4,096); 20 messages a minute per robot. Success is
  ``{"errcode": 0, "errmsg": "ok"}``; 45009 is the rate limit, 93000 an invalid webhook URL (unknown
  key), 40058 an invalid parameter (the content too long among others).
* DingTalk custom robot (钉钉「自定义机器人接入」/「自定义机器人安全设置」): the same text body; signing
  with ``timestamp`` (ms) and ``sign`` (base64 of HMAC-SHA256 of "timestamp\\nsecret" keyed by the
  secret, URL-encoded) in the query, the timestamp within an hour; a custom keyword the text must
  contain; 20 messages a minute, and the robot is blocked for 10 minutes past that (130101). Success
  is ``{"errcode": 0, "errmsg": "ok"}``; 310000 carries "sign not match", "keywords not in content",
  "invalid timestamp" or "ip … not in whitelist"; 300001/300005 an unknown token; 460101 a text over
  20,000 bytes.
* Feishu/Lark custom bot (飞书「自定义机器人使用指南」): ``{"msg_type": "text", "content": {"text": …}}``
  with ``timestamp`` (s) and ``sign`` (base64 of HMAC-SHA256 keyed by "timestamp\\nsecret" over an
  empty message) in the body; a request body of at most 20 KB; 100 messages a minute and 5 a second
  (11232). Success is ``{"code": 0, "msg": "success", …}`` (older answers carry only ``StatusCode``
  0); 19021 a bad signature or timestamp, 19022 an IP not allowed, 19024 a keyword not found, 19001 an
  invalid hook token, 9499 a bad request.

Only the documented success body counts as sent. Anything else is classified into an
``errors`` code; the remote text is read only to classify and is never kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _

from . import errors
from .models import ChannelKind
from .webhooks import Answer


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def _json_utf8(text: str) -> int:
    """Bytes the text takes inside a JSON body as sent (escapes included)."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


@dataclass(frozen=True)
class Service:
    """What delivery needs to know of one robot service."""

    kind: str
    limit: int  # the most a text may take, measured by ``measure``
    measure: Callable[[str], int]
    # Pacing: (seconds, messages) windows, each the documented one plus a margin for clocks and the
    # network, so that our count stays under the service's however its window is aligned.
    windows: tuple[tuple[float, int], ...]
    penalty: timedelta  # how long a rate-limit answer holds the robot


SERVICES: dict[str, Service] = {
    ChannelKind.WECOM: Service(ChannelKind.WECOM, 2048, _utf8, ((62.0, 20),), timedelta(seconds=62)),
    ChannelKind.DINGTALK: Service(ChannelKind.DINGTALK, 20000, _utf8, ((62.0, 20),), timedelta(minutes=10)),
    # 20 KB for the whole body: the signature, the envelope and a margin take up to 1 KB of it.
    ChannelKind.FEISHU: Service(
        ChannelKind.FEISHU, 20 * 1024 - 1024, _json_utf8, ((62.0, 100), (1.2, 5)), timedelta(seconds=62)
    ),
}


# The text ------------------------------------------------------------------------------------------


def ellipsis() -> str:
    return _("…（全文见平台）")


def fit(text: str, limit: int, measure: Callable[[str], int] = _utf8, tail: str = "") -> str:
    """``text`` and then ``tail`` (a link), cut to ``limit``: whole lines kept while they fit, then an
    ellipsis that says the full text is on the platform. The tail always stays. A message too long
    for a service is otherwise refused on every retry, forever."""
    whole = f"{text}\n{tail}" if tail else text
    if measure(whole) <= limit:
        return whole
    end = "\n" + ellipsis() + (f"\n{tail}" if tail else "")
    room = limit - measure(end)
    kept: list[str] = []
    for line in text.split("\n"):
        candidate = "\n".join([*kept, line])
        if measure(candidate) > room:
            if not kept:  # one line longer than the room: cut inside it, by characters
                cut = line
                while cut and measure(cut) > room:
                    cut = cut[: max(len(cut) - max((measure(cut) - room) // 4, 1), 0)]
                kept.append(cut)
            break
        kept.append(line)
    return "\n".join(kept) + end


def with_keyword(text: str, keyword: str) -> str:
    """The text carrying the channel's keyword (a robot secured by keyword refuses any text without
    it): as a first line ``【keyword】`` unless the text has it already."""
    keyword = keyword.strip()
    if not keyword or keyword in text:
        return text
    return f"【{keyword}】\n{text}"


# Signing and the request ---------------------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret"))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: base64(HMAC-SHA256(key="timestamp\\nsecret", msg=""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def request(
    kind: str, url: str, secret: str, text: str, now: float | None = None
) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body to POST for one text message on ``kind``'s robot webhook (``text`` is
    already fitted). ``now`` is the signing time: the service compares it with its own clock."""
    now = time.time() if now is None else now
    if kind == ChannelKind.WECOM:
        return url, {"msgtype": "text", "text": {"content": text}}
    if kind == ChannelKind.DINGTALK:
        if secret:
            ms = int(now * 1000)
            query = urllib.parse.urlencode({"timestamp": ms, "sign": dingtalk_sign(secret, ms)})
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        return url, {"msgtype": "text", "text": {"content": text}}
    if kind == ChannelKind.FEISHU:
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        if secret:
            seconds = int(now)
            body = {"timestamp": str(seconds), "sign": feishu_sign(secret, seconds), **body}
        return url, body
    raise errors.PermanentError(errors.CHANNEL_OFF, f"not a robot: {kind}")


# The answer ----------------------------------------------------------------------------------------


def _number(value: Any) -> int | None:
    """A result code as the services write it: a JSON number (``"0"`` is not their success)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _wecom(code: int, message: str) -> str:
    if code == 45009:
        return errors.RATE_LIMITED
    if code in (93000, 93004, 40035, 41000):  # invalid webhook url, robot removed, key missing
        return errors.BAD_KEY
    if code == 40058:
        return errors.TOO_LONG if "exceed" in message or "length" in message else errors.REJECTED
    return errors.SERVICE_ERROR if code < 0 else errors.REJECTED


def _dingtalk(code: int, message: str) -> str:
    if code == 130101:
        return errors.RATE_LIMITED
    if code == 310000:
        if "keyword" in message:
            return errors.KEYWORD
        if "timestamp" in message:
            return errors.BAD_TIMESTAMP
        if "whitelist" in message or "ip" in message.split():
            return errors.IP_NOT_ALLOWED
        return errors.BAD_SIGNATURE
    if code in (300001, 300005, 400101, 40035):  # token missing or not existing
        return errors.BAD_KEY
    if code == 460101:
        return errors.TOO_LONG
    return errors.SERVICE_ERROR if code < 0 else errors.REJECTED


def _feishu(code: int, message: str) -> str:
    if code == 11232:
        return errors.RATE_LIMITED
    return {
        19021: errors.BAD_SIGNATURE,
        19022: errors.IP_NOT_ALLOWED,
        19024: errors.KEYWORD,
        19001: errors.BAD_KEY,
        19002: errors.BAD_KEY,
        19007: errors.BAD_KEY,  # bot not enabled
        9499: errors.REJECTED,
    }.get(code, errors.SERVICE_ERROR if code < 0 else errors.REJECTED)


# Codes that may go away by themselves: retried with the back-off, not failed at once.
TRANSIENT = frozenset({errors.SERVICE_ERROR, errors.BAD_ANSWER, errors.UNREACHABLE})


def _result_code(kind: str, answer: Any) -> tuple[int, str] | None:
    """The service's own result code and message in a JSON answer (None: not the service's format)."""
    if not isinstance(answer, dict):
        return None
    if kind == ChannelKind.FEISHU:
        code = _number(answer.get("code")) if "code" in answer else _number(answer.get("StatusCode"))
        message = answer.get("msg") if "code" in answer else answer.get("StatusMessage")
    else:
        code, message = _number(answer.get("errcode")), answer.get("errmsg")
    if code is None:
        return None
    return code, str(message or "").lower()[:200]


def check_answer(kind: str, answer: Answer, now: datetime, service: Service) -> None:
    """Return when the answer is the documented success; raise the error it stands for otherwise."""
    result = _result_code(kind, answer.json())
    if result is not None:
        code, message = result
        if code == 0:
            if answer.status == 200:
                return
            raise errors.DeliveryError(errors.BAD_ANSWER, f"HTTP {answer.status} with code 0")
        classify = {str(ChannelKind.WECOM): _wecom, str(ChannelKind.DINGTALK): _dingtalk}.get(kind, _feishu)
        reason = classify(code, message)
        detail = f"code {code}"
    elif answer.status == 429:
        reason, detail = errors.RATE_LIMITED, "HTTP 429"
    elif answer.status >= 500:
        reason, detail = errors.SERVICE_ERROR, f"HTTP {answer.status}"
    elif 400 <= answer.status < 500:
        reason, detail = errors.REJECTED, f"HTTP {answer.status}"
    else:  # a 200 (or a redirect) that is not the service's JSON: a captive portal, a proxy's page
        reason, detail = errors.BAD_ANSWER, f"HTTP {answer.status}, not the service's answer"
    if reason == errors.RATE_LIMITED:
        raise errors.RateLimited(now + service.penalty, detail)
    if reason in TRANSIENT:
        raise errors.DeliveryError(reason, detail)
    raise errors.PermanentError(reason, detail)
