"""Local fakes of the WeCom (企业微信) and DingTalk (钉钉) sign-in services, for the tests of single
sign-on (fanzha/sso).

Why fakes that refuse: a fake that hands out an identity for any code proves nothing. Each fake checks
what its service documents — the app's credentials, the redirect domain, codes that work once and
expire, tokens that expire — and answers with that service's documented bodies, so a mistake in our
exchange shows here as it would against the real service. Written from the documentation, not from
our client code.

WeCom — 企业微信开发者中心 «网页授权登录», «企业微信Web登录», «获取access_token», «获取访问用户身份»,
«读取成员», 全局错误码:
    GET /connect/oauth2/authorize?appid=CORPID&redirect_uri=…&response_type=code&scope=snsapi_base&
    state=…&agentid=… (inside WeCom) and GET /wwlogin/sso/login?login_type=CorpApp&appid=CORPID&
    agentid=…&redirect_uri=…&state=… (QR sign-in) redirect to ``redirect_uri?code=CODE&state=STATE``
    for the member signed in on the phone (``sign_in``); a redirect_uri outside the app's trusted
    domain is refused (a page, errcode 50001 "redirect_url not authorised"). A code is good once,
    for five minutes.
    GET /cgi-bin/gettoken?corpid&corpsecret: ``{"errcode": 0, "errmsg": "ok", "access_token": …,
    "expires_in": 7200}``; a wrong corpid 40013 "invalid corpid", a wrong secret 40001 "invalid
    credential, access_token is invalid or not latest".
    GET /cgi-bin/auth/getuserinfo?access_token&code: ``{"errcode": 0, "errmsg": "ok", "userid": …}`` for
    a member, ``{"errcode": 0, "errmsg": "ok", "openid": …}`` for a non-member; a bad, spent or
    expired code 40029 "invalid code"; no access_token 41001, a wrong one 40014 "invalid access_token",
    an expired one 42001 "access_token expired".
    GET /cgi-bin/user/get?access_token&userid: the member (userid, name, alias, extattr …, errcode 0);
    an unknown userid 60111 "userid not found".
DingTalk — 钉钉开放平台 «实现登录第三方网站», «获取用户token», «获取用户通讯录个人信息», «获取企业内部
应用的accessToken», «根据unionid获取用户userid», «查询用户详情», 错误码:
    GET /oauth2/auth?redirect_uri&response_type=code&client_id&scope=openid&state&prompt=consent
    redirects to ``redirect_uri?authCode=CODE&state=STATE`` for the user signed in on the phone; an
    unknown client_id or a redirect_uri outside the app's registered one is refused (a page).
    POST /v1.0/oauth2/userAccessToken ``{clientId, clientSecret, code, grantType}``: ``{"accessToken",
    "refreshToken", "expireIn": 7200, "corpId"}``; a bad, spent or expired code HTTP 400
    ``{"code": "invalidParameter.authCode.notFound", "message": …, "requestid": …}``; wrong client
    credentials HTTP 400 ``{"code": "InvalidAuthentication", …}``.
    GET /v1.0/contact/users/me with header ``x-acs-dingtalk-access-token``: ``{"nick", "unionId",
    "openId", "avatarUrl", "stateCode"}``; a wrong token HTTP 400 ``{"code": "InvalidAuthentication",
    "message": "不合法的access_token"}``.
    POST /v1.0/oauth2/accessToken ``{appKey, appSecret}``: ``{"accessToken", "expireIn": 7200}``.
    POST /topapi/user/getbyunionid?access_token ``{unionid}``: ``{"errcode": 0, "errmsg": "ok", "result":
    {"contact_type": 0, "userid"}}``; someone not in the corp 60121 "找不到该用户"; a wrong token 40014
    "不合法的access_token".
    POST /topapi/v2/user/get?access_token ``{userid}``: ``{"errcode": 0, "result": {"userid", "unionid",
    "name", "job_number", "active"}}``; an unknown userid 60121.

Each fake keeps its own clock (``advance`` moves it: a code's five minutes end without waiting) and
records every request (``calls``).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CODE_SECONDS = 300
TOKEN_SECONDS = 7200


@dataclass
class Answer:
    status: int
    body: Any = None  # JSON, or bytes for an HTML page
    location: str = ""  # a redirect


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    answer: Any


def _page(text: str, status: int = 400) -> Answer:
    return Answer(status, f"<html><body><p>{text}</p></body></html>".encode())


def _with(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query) + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query), fragment=""))


class Fake:
    """The common part: a clock, the issued codes and tokens, the record of calls."""

    def __init__(self) -> None:
        self.base = ""
        self.offset = 0.0
        self.lock = threading.Lock()
        self.calls: list[Call] = []
        self.codes: dict[str, tuple[str, float]] = {}  # code -> (who, issued at)
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (whose, expires at)
        self.signed_in = ""  # who is signed in on the phone (the QR scan / the app)

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.offset += seconds

    def sign_in(self, who: str) -> None:
        """The person who scans the QR code or has the app open."""
        self.signed_in = who

    def _code(self, who: str) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = (who, self.now())
        return code

    def _use_code(self, code: str) -> str | None:
        """The code's holder, once; None for an unknown, spent or expired code."""
        entry = self.codes.pop(code, None)
        if entry is None or self.now() - entry[1] > CODE_SECONDS:
            return None
        return entry[0]

    def _token(self, whose: str) -> str:
        token = secrets.token_hex(24)
        self.tokens[token] = (whose, self.now() + TOKEN_SECONDS)
        return token

    def _token_owner(self, token: str) -> tuple[str | None, bool]:
        """(whose, expired) for a token; (None, False) for an unknown one."""
        entry = self.tokens.get(token)
        if entry is None:
            return None, False
        return entry[0], self.now() > entry[1]

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (the service rotated them)."""
        with self.lock:
            self.tokens = {t: (who, self.now() - 1) for t, (who, _at) in self.tokens.items()}

    def handle(self, method: str, path: str, query: dict[str, str], headers: Any, body: Any) -> Answer:
        with self.lock:
            answer = self.answer(method, path, query, headers, body)
            self.calls.append(Call(method, path, query, body, answer.status, answer.body))
        return answer

    def answer(self, method: str, path: str, query: dict[str, str], headers: Any, body: Any) -> Answer:
        raise NotImplementedError

    def called(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]


@dataclass
class WecomMember:
    userid: str
    name: str
    alias: str = ""
    attrs: dict[str, str] = field(default_factory=dict)  # custom text attributes (扩展属性)


class WecomFake(Fake):
    """WeCom's web sign-in and the three API calls it needs (see the module's docstring)."""

    def __init__(self, corp_id: str, agent_id: str, secret: str, trusted_domain: str) -> None:
        super().__init__()
        self.corp_id, self.agent_id, self.secret = corp_id, agent_id, secret
        self.trusted_domain = trusted_domain
        self.members: dict[str, WecomMember] = {}

    def add_member(self, userid: str, name: str, alias: str = "", **attrs: str) -> WecomMember:
        member = WecomMember(userid, name, alias, dict(attrs))
        self.members[userid] = member
        return member

    @staticmethod
    def _error(code: int, message: str) -> Answer:
        return Answer(200, {"errcode": code, "errmsg": message})

    def _authorize(self, query: dict[str, str], qr: bool) -> Answer:
        if query.get("appid") != self.corp_id:
            return _page("appid 参数错误 (errcode 40013 invalid corpid)")
        if qr and (query.get("login_type") != "CorpApp" or query.get("agentid") != self.agent_id):
            return _page("参数错误 (login_type / agentid)")
        if not qr and (query.get("response_type") != "code" or query.get("scope") not in ("snsapi_base",)):
            return _page("参数错误 (response_type / scope)")
        if not qr and query.get("agentid") not in (None, self.agent_id):
            return _page("参数错误 (agentid)")
        redirect = query.get("redirect_uri", "")
        if urllib.parse.urlsplit(redirect).hostname != self.trusted_domain:
            return _page("redirect_uri 需使用应用可信域名 (errcode 50001 redirect_url not authorised)")
        if not self.signed_in:
            return _page("请在企业微信中打开")
        code = self._code(self.signed_in)
        return Answer(302, location=_with(redirect, code=code, state=query.get("state", "")))

    def _check_token(self, query: dict[str, str]) -> Answer | None:
        token = query.get("access_token")
        if not token:
            return self._error(41001, "access_token missing")
        owner, expired = self._token_owner(token)
        if owner is None:
            return self._error(40014, "invalid access_token")
        if expired:
            return self._error(42001, "access_token expired")
        return None

    def answer(self, method: str, path: str, query: dict[str, str], headers: Any, body: Any) -> Answer:
        if path == "/connect/oauth2/authorize":
            return self._authorize(query, qr=False)
        if path == "/wwlogin/sso/login":
            return self._authorize(query, qr=True)
        if path == "/cgi-bin/gettoken":
            if query.get("corpid") != self.corp_id:
                return self._error(40013, "invalid corpid")
            if query.get("corpsecret") != self.secret:
                return self._error(40001, "invalid credential, access_token is invalid or not latest")
            token = self._token(self.corp_id)
            return Answer(
                200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": TOKEN_SECONDS}
            )
        if path == "/cgi-bin/auth/getuserinfo":
            refusal = self._check_token(query)
            if refusal:
                return refusal
            if not query.get("code"):
                return self._error(41008, "missing code")
            who = self._use_code(query["code"])
            if who is None:
                return self._error(40029, "invalid code")
            if who in self.members:
                return Answer(200, {"errcode": 0, "errmsg": "ok", "userid": who})
            return Answer(200, {"errcode": 0, "errmsg": "ok", "openid": "o-" + who})
        if path == "/cgi-bin/user/get":
            refusal = self._check_token(query)
            if refusal:
                return refusal
            found = self.members.get(query.get("userid", ""))
            if found is None:
                return self._error(60111, "userid not found")
            attrs = [{"type": 0, "name": k, "text": {"value": v}} for k, v in found.attrs.items()]
            return Answer(
                200,
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "userid": found.userid,
                    "name": found.name,
                    "alias": found.alias,
                    "department": [1],
                    "main_department": 1,
                    "status": 1,
                    "extattr": {"attrs": attrs},
                },
            )
        return Answer(404, {"errcode": 404, "errmsg": "not found"})


@dataclass
class DingtalkUser:
    union_id: str
    nick: str
    userid: str = ""  # "" : not in the corp
    job_number: str = ""


class DingtalkFake(Fake):
    """DingTalk's sign-in and the address-book calls it needs (see the module's docstring)."""

    def __init__(self, client_id: str, client_secret: str, corp_id: str, redirect_domain: str) -> None:
        super().__init__()
        self.client_id, self.client_secret, self.corp_id = client_id, client_secret, corp_id
        self.redirect_domain = redirect_domain
        self.users: dict[str, DingtalkUser] = {}

    def add_user(self, union_id: str, nick: str, userid: str = "", job_number: str = "") -> DingtalkUser:
        user = DingtalkUser(union_id, nick, userid, job_number)
        self.users[union_id] = user
        return user

    @staticmethod
    def _api_error(code: str, message: str, status: int = 400) -> Answer:
        return Answer(status, {"code": code, "message": message, "requestid": secrets.token_hex(8).upper()})

    @staticmethod
    def _oapi_error(code: int, message: str) -> Answer:
        return Answer(200, {"errcode": code, "errmsg": message, "request_id": secrets.token_hex(6)})

    def _oapi_token(self, query: dict[str, str]) -> Answer | None:
        owner, expired = self._token_owner(query.get("access_token", ""))
        if owner != "app:" + self.client_id:
            return self._oapi_error(40014, "不合法的access_token")
        if expired:
            return self._oapi_error(42001, "access_token过期")
        return None

    def answer(self, method: str, path: str, query: dict[str, str], headers: Any, body: Any) -> Answer:
        body = body if isinstance(body, dict) else {}
        if path == "/oauth2/auth":
            if query.get("client_id") != self.client_id:
                return _page("应用不存在 (client_id)")
            if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
                return _page("参数错误 (response_type / scope)")
            redirect = query.get("redirect_uri", "")
            if urllib.parse.urlsplit(redirect).hostname != self.redirect_domain:
                return _page("回调域名与应用配置不一致 (redirect_uri)")
            if not self.signed_in:
                return _page("请使用钉钉扫码登录")
            code = self._code(self.signed_in)
            return Answer(302, location=_with(redirect, authCode=code, state=query.get("state", "")))
        if path == "/v1.0/oauth2/userAccessToken" and method == "POST":
            if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
                return self._api_error("InvalidAuthentication", "clientId 或 clientSecret 不合法")
            if body.get("grantType") != "authorization_code":
                return self._api_error("invalidParameter.grantType.invalid", "grantType 不合法")
            who = self._use_code(str(body.get("code") or ""))
            if who is None:
                return self._api_error("invalidParameter.authCode.notFound", "不合法的临时授权码")
            token = self._token("user:" + who)
            return Answer(
                200,
                {
                    "accessToken": token,
                    "refreshToken": secrets.token_hex(16),
                    "expireIn": TOKEN_SECONDS,
                    "corpId": self.corp_id,
                },
            )
        if path == "/v1.0/contact/users/me":
            owner, expired = self._token_owner(headers.get("x-acs-dingtalk-access-token") or "")
            if owner is None or not owner.startswith("user:") or expired:
                return self._api_error("InvalidAuthentication", "不合法的access_token")
            user = self.users.get(owner.removeprefix("user:"))
            if user is None:
                return self._api_error("InvalidAuthentication", "不合法的access_token")
            return Answer(
                200,
                {
                    "nick": user.nick,
                    "unionId": user.union_id,
                    "openId": "o" + user.union_id,
                    "avatarUrl": "",
                    "stateCode": "86",
                },
            )
        if path == "/v1.0/oauth2/accessToken" and method == "POST":
            if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
                return self._api_error("InvalidAuthentication", "appKey 或 appSecret 不合法")
            return Answer(
                200, {"accessToken": self._token("app:" + self.client_id), "expireIn": TOKEN_SECONDS}
            )
        if path == "/topapi/user/getbyunionid" and method == "POST":
            refusal = self._oapi_token(query)
            if refusal:
                return refusal
            user = self.users.get(str(body.get("unionid") or ""))
            if user is None or not user.userid:
                return self._oapi_error(60121, "找不到该用户")
            return Answer(
                200,
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "result": {"contact_type": 0, "userid": user.userid},
                    "request_id": "r1",
                },
            )
        if path == "/topapi/v2/user/get" and method == "POST":
            refusal = self._oapi_token(query)
            if refusal:
                return refusal
            found = next(
                (u for u in self.users.values() if u.userid and u.userid == body.get("userid")), None
            )
            if found is None:
                return self._oapi_error(60121, "找不到该用户")
            result = {
                "userid": found.userid,
                "unionid": found.union_id,
                "name": found.nick,
                "job_number": found.job_number,
                "active": True,
            }
            return Answer(200, {"errcode": 0, "errmsg": "ok", "result": result, "request_id": "r2"})
        return self._api_error("NotFound", "not found", 404)


@contextmanager
def serving(fake: Fake) -> Iterator[Fake]:
    """Serve ``fake`` on a free port of 127.0.0.1 until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            split = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(split.query))
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body: Any = json.loads(raw.decode("utf-8")) if raw else None
            except (UnicodeDecodeError, ValueError):
                body = None
            answer = fake.handle(method, split.path, query, self.headers, body)
            if answer.location:
                payload, kind = b"", "text/plain"
            elif isinstance(answer.body, bytes):
                payload, kind = answer.body, "text/html; charset=utf-8"
            else:
                payload = json.dumps(answer.body, ensure_ascii=False).encode()
                kind = "application/json; charset=utf-8"
            try:
                self.send_response(answer.status)
                if answer.location:
                    self.send_header("Location", answer.location)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                return

        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler)
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
