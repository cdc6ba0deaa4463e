"""DingTalk (钉钉) sign-in, by its documented exchange (钉钉开放平台 «实现登录第三方网站», «获取用户
token», «获取用户通讯录个人信息», «获取企业内部应用的accessToken», «根据unionid获取用户userid»,
«查询用户详情»):

1. ``login.dingtalk.com/oauth2/auth?redirect_uri=…&response_type=code&client_id=APPKEY&scope=openid&
   state=…&prompt=consent``: a QR code on a computer; inside the DingTalk app on a phone, a tap to agree
   (no password). It comes back with ``authCode`` and ``state``.
2. ``POST api.dingtalk.com/v1.0/oauth2/userAccessToken`` ``{clientId, clientSecret, code, grantType:
   "authorization_code"}`` gives the user's ``accessToken``; a spent or unknown code is HTTP 400
   ``{"code": "invalidParameter.authCode.notFound", …}``.
3. ``GET /v1.0/contact/users/me`` with header ``x-acs-dingtalk-access-token`` gives the ``unionId``.
4. The number comes from the corp's address book, with the internal app's own token
   (``POST /v1.0/oauth2/accessToken`` ``{appKey, appSecret}``, kept in the cache):
   ``POST oapi.dingtalk.com/topapi/user/getbyunionid`` ``{unionid}`` gives the ``userid`` (only for a
   member of the corp: ``contact_type`` 0), ``POST /topapi/v2/user/get`` ``{userid}`` the ``job_number``.
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

INVALID_TOKEN = {40014, 42001}  # oapi: 不合法的access_token, access_token 过期


def redirect_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("sso_dingtalk_callback"))


def login_url(request: HttpRequest, cfg: config.Dingtalk, state: str) -> str:
    query = urlencode(
        {
            "redirect_uri": redirect_uri(request),
            "response_type": "code",
            "client_id": cfg.client_id,
            "scope": "openid",
            "state": state,
            "prompt": "consent",
        }
    )
    return f"{cfg.login_url}?{query}"


def _token_key(cfg: config.Dingtalk) -> str:
    material = f"{cfg.api_url}|{cfg.client_id}|{cfg.client_secret}".encode()
    return "sso:dingtalk:token:" + hashlib.sha256(material).hexdigest()


def _app_token(cfg: config.Dingtalk, fresh: bool = False) -> str:
    key = _token_key(cfg)
    token = None if fresh else cache.get(key)
    if token:
        return str(token)
    status, answer = outbound.call_json(
        "POST",
        cfg.api_url + "/v1.0/oauth2/accessToken",
        body={"appKey": cfg.client_id, "appSecret": cfg.client_secret},
    )
    if status != 200 or not isinstance(answer, dict) or not answer.get("accessToken"):
        log.error(
            "DingTalk app accessToken refused: %s", answer.get("code") if isinstance(answer, dict) else "?"
        )
        raise Refusal("misconfigured", Reason.MISCONFIGURED, status=503)
    cache.set(key, answer["accessToken"], max(60, int(answer.get("expireIn") or 7200) - 300))
    return str(answer["accessToken"])


def _oapi(cfg: config.Dingtalk, path: str, body: dict[str, str]) -> dict[str, Any]:
    """An address-book call with the app's token, again with a fresh token once if it was stale."""
    answer: Any = None
    for fresh in (False, True):
        _status, answer = outbound.call_json(
            "POST", cfg.oapi_url + path, params={"access_token": _app_token(cfg, fresh)}, body=body
        )
        if not isinstance(answer, dict):
            raise ProviderError(path)
        if answer.get("errcode") in INVALID_TOKEN and not fresh:
            cache.delete(_token_key(cfg))
            continue
        break
    return dict(answer)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _union_id(cfg: config.Dingtalk, code: str) -> str:
    status, token = outbound.call_json(
        "POST",
        cfg.api_url + "/v1.0/oauth2/userAccessToken",
        body={
            "clientId": cfg.client_id,
            "clientSecret": cfg.client_secret,
            "code": code,
            "grantType": "authorization_code",
        },
    )
    if status != 200 or not isinstance(token, dict) or not token.get("accessToken"):
        log.warning(
            "DingTalk userAccessToken refused: %s", token.get("code") if isinstance(token, dict) else "?"
        )
        raise Refusal("unverified", Reason.UNVERIFIED)
    status, me = outbound.call_json(
        "GET",
        cfg.api_url + "/v1.0/contact/users/me",
        headers={"x-acs-dingtalk-access-token": str(token["accessToken"])},
    )
    if status != 200 or not isinstance(me, dict) or not me.get("unionId"):
        log.warning("DingTalk users/me refused: %s", me.get("code") if isinstance(me, dict) else "?")
        raise Refusal("unverified", Reason.UNVERIFIED)
    return str(me["unionId"])


def identity(cfg: config.Dingtalk, code: str) -> Identity:
    """The corp member the callback's ``authCode`` names; ``Refusal`` for a spent code, someone outside
    the corp, or no number."""
    try:
        union_id = _union_id(cfg, code)
        found = _oapi(cfg, "/topapi/user/getbyunionid", {"unionid": union_id})
        result = _dict(found.get("result"))
        userid = str(result.get("userid") or "")
        if found.get("errcode") != 0 or not userid or result.get("contact_type", 0) != 0:
            log.info("DingTalk getbyunionid: not a member of the corp (errcode %s)", found.get("errcode"))
            raise Refusal("not_member", Reason.NOT_MEMBER)
        number = userid
        if cfg.number_field != "userid":
            detail = _oapi(cfg, "/topapi/v2/user/get", {"userid": userid})
            member = _dict(detail.get("result"))
            if detail.get("errcode") != 0:
                raise Refusal("not_member", Reason.NOT_MEMBER)
            number = str(member.get(cfg.number_field) or "").strip()
    except ProviderError as exc:
        raise Refusal("provider", Reason.PROVIDER, status=502) from exc
    if not number:
        raise Refusal("no_number", Reason.NO_NUMBER)
    return Identity(config.DINGTALK, union_id, number, cfg.organisation)
