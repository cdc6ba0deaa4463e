"""WeCom (企业微信) web sign-in, by its documented exchange (企业微信开发者中心 «网页授权登录»,
«企业微信Web登录», «获取访问用户身份», «读取成员», «获取access_token»):

1. Inside the WeCom app (a phone's WeCom, or its desktop client), the browser goes to
   ``open.weixin.qq.com/connect/oauth2/authorize?appid=CORPID&redirect_uri=…&response_type=code&
   scope=snsapi_base&state=…&agentid=AGENTID#wechat_redirect`` and comes back at once with ``code`` and
   ``state`` (silent: no tap needed). In any other browser, the QR sign-in page
   ``login.work.weixin.qq.com/wwlogin/sso/login?login_type=CorpApp&appid=CORPID&agentid=…`` does the same
   after a scan with WeCom.
2. ``GET qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=…&corpsecret=…`` gives the app's access_token
   (7200 s; kept in the cache, fetched again when WeCom calls it invalid or expired).
3. ``GET /cgi-bin/auth/getuserinfo?access_token=…&code=…`` gives the member's ``userid`` (a non-member
   gets ``openid`` only: refused). A code is good once, for five minutes (errcode 40029 otherwise).
4. When the number is not the userid, ``GET /cgi-bin/user/get?access_token=…&userid=…`` gives the
   member's ``alias`` and custom attributes (``extattr``), one of which holds it.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse

from . import config, outbound
from .identity import Identity, Reason, Refusal
from .outbound import ProviderError

log = logging.getLogger(__name__)

INVALID_TOKEN = {40001, 40014, 42001}  # invalid credential, invalid access_token, access_token expired
INVALID_CODE = 40029
USER_NOT_FOUND = 60111


def redirect_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("sso_wecom_callback"))


def in_wecom(request: HttpRequest) -> bool:
    """Whether the page is open in WeCom's own browser (its user agent says ``wxwork``)."""
    return "wxwork" in request.headers.get("User-Agent", "").lower()


def login_url(request: HttpRequest, cfg: config.Wecom, state: str) -> str:
    """The silent in-app authorization inside WeCom, the QR sign-in page elsewhere."""
    if in_wecom(request):
        query = urlencode(
            {
                "appid": cfg.corp_id,
                "redirect_uri": redirect_uri(request),
                "response_type": "code",
                "scope": "snsapi_base",
                "state": state,
                "agentid": cfg.agent_id,
            }
        )
        return f"{cfg.oauth_url}?{query}#wechat_redirect"
    query = urlencode(
        {
            "login_type": "CorpApp",
            "appid": cfg.corp_id,
            "agentid": cfg.agent_id,
            "redirect_uri": redirect_uri(request),
            "state": state,
        }
    )
    return f"{cfg.qr_url}?{query}"


def _token_key(cfg: config.Wecom) -> str:
    material = f"{cfg.api_url}|{cfg.corp_id}|{cfg.secret}".encode()
    return "sso:wecom:token:" + hashlib.sha256(material).hexdigest()


def _access_token(cfg: config.Wecom, fresh: bool = False) -> str:
    key = _token_key(cfg)
    token = None if fresh else cache.get(key)
    if token:
        return str(token)
    status, answer = outbound.call_json(
        "GET", cfg.api_url + "/cgi-bin/gettoken", params={"corpid": cfg.corp_id, "corpsecret": cfg.secret}
    )
    if not isinstance(answer, dict) or answer.get("errcode") != 0 or not answer.get("access_token"):
        log.error(
            "WeCom gettoken refused: errcode %s", answer.get("errcode") if isinstance(answer, dict) else "?"
        )
        raise Refusal("misconfigured", Reason.MISCONFIGURED, status=503)
    lifetime = int(answer.get("expires_in") or 7200)
    cache.set(key, answer["access_token"], max(60, lifetime - 300))
    return str(answer["access_token"])


def _call(cfg: config.Wecom, path: str, params: dict[str, str]) -> dict[str, Any]:
    """A WeCom API call with the app's token, again with a fresh token once if WeCom says it is stale."""
    for fresh in (False, True):
        query = {"access_token": _access_token(cfg, fresh), **params}
        _status, answer = outbound.call_json("GET", cfg.api_url + path, params=query)
        if not isinstance(answer, dict):
            raise ProviderError(path)
        if answer.get("errcode") in INVALID_TOKEN and not fresh:
            cache.delete(_token_key(cfg))
            continue
        return answer
    return answer


def _number(cfg: config.Wecom, userid: str) -> str:
    if cfg.number_field == "userid":
        return userid
    member = _call(cfg, "/cgi-bin/user/get", {"userid": userid})
    if member.get("errcode") != 0:
        log.warning("WeCom user/get refused: errcode %s", member.get("errcode"))
        raise Refusal("not_member", Reason.NOT_MEMBER)
    if cfg.number_field == "alias":
        return str(member.get("alias") or "").strip()
    attrs = (member.get("extattr") or {}).get("attrs") or []
    for attr in attrs:
        if isinstance(attr, dict) and attr.get("name") == cfg.number_field and attr.get("type", 0) == 0:
            text = attr.get("text")
            value = text.get("value") if isinstance(text, dict) else attr.get("value")
            return str(value or "").strip()
    return ""


def identity(cfg: config.Wecom, code: str) -> Identity:
    """The member the callback's ``code`` names; ``Refusal`` for a spent or foreign code, a
    non-member, or no number."""
    try:
        answer = _call(cfg, "/cgi-bin/auth/getuserinfo", {"code": code})
        if answer.get("errcode") != 0:
            log.warning("WeCom getuserinfo refused: errcode %s", answer.get("errcode"))
            raise Refusal("unverified", Reason.UNVERIFIED)
        userid = str(answer.get("userid") or answer.get("UserId") or "").strip()
        if not userid:  # openid / external_userid: not a member of the corp
            raise Refusal("not_member", Reason.NOT_MEMBER)
        number = _number(cfg, userid)
    except ProviderError as exc:
        raise Refusal("provider", Reason.PROVIDER, status=502) from exc
    if not number:
        raise Refusal("no_number", Reason.NO_NUMBER)
    return Identity(config.WECOM, f"{cfg.corp_id}:{userid}", number, cfg.organisation)
