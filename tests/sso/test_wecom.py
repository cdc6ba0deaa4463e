"""WeCom (企业微信) sign-in against the local fake of fanzha/bench/oauth_fakes.py, which follows WeCom's
documented exchange: codes once and for five minutes, tokens that expire, WeCom's error bodies."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django.urls import reverse

from fanzha.org.models import Person, User
from fanzha.sso.models import ExternalIdentity

from .conftest import fake_to_callback, signed_in_user_id

IN_WECOM = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 wxwork/4.1.22 MicroMessenger/7.0.1"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Person.objects.count(), ExternalIdentity.objects.count()


def test_a_student_signs_in_inside_wecom(client, cast, wecom):
    """On the phone, in WeCom's browser: the silent OAuth page, the member's userid is the number."""
    wecom.add_member("2023101", "王五")
    wecom.sign_in("2023101")
    start = client.get(reverse("sso_wecom_login"), HTTP_USER_AGENT=IN_WECOM)
    target = urlsplit(start["Location"])
    assert target.path == "/connect/oauth2/authorize" and target.fragment == "wechat_redirect"
    assert parse_qs(target.query)["scope"] == ["snsapi_base"]

    response = client.get(fake_to_callback(client, "sso_wecom_login", IN_WECOM))
    assert response.status_code == 302 and response["Location"] == reverse("home")
    cast.math_student.refresh_from_db()
    assert cast.math_student.user_id and signed_in_user_id(client) == cast.math_student.user_id
    assert ExternalIdentity.objects.get(provider="wecom").subject == f"{wecom.corp_id}:2023101"


def test_staff_sign_in_on_a_computer_with_the_number_in_a_custom_attribute(client, cast, wecom, settings):
    """Elsewhere, the QR sign-in page; the userid is a login name and 工号 holds the number."""
    settings.FANZHA_WECOM_NUMBER_FIELD = "工号"
    wecom.add_member("fudaoyuan.jia", "辅导员甲", 工号="T0003")
    wecom.sign_in("fudaoyuan.jia")
    start = client.get(reverse("sso_wecom_login"), HTTP_USER_AGENT=DESKTOP)
    assert urlsplit(start["Location"]).path == "/wwlogin/sso/login"

    response = client.get(fake_to_callback(client, "sso_wecom_login", DESKTOP))
    assert response.status_code == 302
    assert signed_in_user_id(client) == cast.counsellor.pk
    assert [c.path for c in wecom.calls if c.path.startswith("/cgi-bin")] == [
        "/cgi-bin/gettoken",
        "/cgi-bin/auth/getuserinfo",
        "/cgi-bin/user/get",
    ]


def test_the_alias_may_hold_the_number(client, cast, wecom, settings):
    settings.FANZHA_WECOM_NUMBER_FIELD = "alias"
    wecom.add_member("zhangsan", "张三", alias="2023001")
    wecom.sign_in("zhangsan")
    client.get(fake_to_callback(client, "sso_wecom_login"))
    assert signed_in_user_id(client) == cast.student_user.pk


def test_a_code_works_once_and_for_five_minutes(client, cast, wecom):
    wecom.add_member("2023001", "张三")
    wecom.sign_in("2023001")
    first = fake_to_callback(client, "sso_wecom_login")
    code = parse_qs(urlsplit(first).query)["code"][0]
    assert client.get(first).status_code == 302
    client.logout()

    # The same code with a fresh state of this browser: WeCom says 40029 invalid code.
    fresh = fake_to_callback(client, "sso_wecom_login")
    replay = fresh.replace(parse_qs(urlsplit(fresh).query)["code"][0], code)
    response = client.get(replay)
    assert response.status_code == 403 and signed_in_user_id(client) is None
    assert wecom.called("/cgi-bin/auth/getuserinfo")[-1].answer["errcode"] == 40029

    late = fake_to_callback(client, "sso_wecom_login")
    wecom.advance(301)
    assert client.get(late).status_code == 403
    assert wecom.called("/cgi-bin/auth/getuserinfo")[-1].answer["errcode"] == 40029


def test_a_state_from_another_browser_is_refused(client, cast, wecom):
    wecom.add_member("2023001", "张三")
    wecom.sign_in("2023001")
    callback = fake_to_callback(client, "sso_wecom_login")
    victim = Client()
    response = victim.get(callback)
    assert response.status_code == 400 and signed_in_user_id(victim) is None
    assert not wecom.called("/cgi-bin/auth/getuserinfo")  # refused before WeCom is asked


def test_a_non_member_and_an_unknown_number_are_refused(client, cast, wecom, strangers):
    before = counts()
    wecom.sign_in("someone-outside")  # not in the corp: WeCom answers an openid only
    response = client.get(fake_to_callback(client, "sso_wecom_login"))
    assert response.status_code == 403 and "不在本单位的通讯录中" in response.content.decode()

    for number in ("9999999", "2029999"):
        wecom.add_member(number, "某人")
        wecom.sign_in(number)
        response = client.get(fake_to_callback(client, "sso_wecom_login"))
        assert response.status_code == 403 and f"学号/工号为 {number}" in response.content.decode()
    assert signed_in_user_id(client) is None and counts() == before


def test_the_token_is_kept_and_fetched_again_when_wecom_says_it_expired(client, cast, wecom):
    wecom.add_member("2023001", "张三")
    wecom.sign_in("2023001")
    for _ in range(2):
        client.get(fake_to_callback(client, "sso_wecom_login"))
        client.logout()
    assert len(wecom.called("/cgi-bin/gettoken")) == 1

    wecom.expire_tokens()
    assert client.get(fake_to_callback(client, "sso_wecom_login")).status_code == 302
    assert signed_in_user_id(client) == cast.student_user.pk
    assert len(wecom.called("/cgi-bin/gettoken")) == 2
    assert 42001 in [c.answer["errcode"] for c in wecom.called("/cgi-bin/auth/getuserinfo")]


def test_a_wrong_secret_is_the_operators_problem_not_the_users(client, cast, wecom, settings):
    settings.FANZHA_WECOM_SECRET = "not-the-secret"
    wecom.add_member("2023001", "张三")
    wecom.sign_in("2023001")
    response = client.get(fake_to_callback(client, "sso_wecom_login"))
    assert response.status_code == 503 and "配置有误" in response.content.decode()
    assert wecom.called("/cgi-bin/gettoken")[-1].answer["errcode"] == 40001


def test_proxy_variables_of_the_environment_are_not_used(client, cast, wecom, monkeypatch):
    """A proxy set for something else (here one that does not exist) must not carry the sign-in."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    wecom.add_member("2023001", "张三")
    wecom.sign_in("2023001")
    assert client.get(fake_to_callback(client, "sso_wecom_login")).status_code == 302
    assert signed_in_user_id(client) == cast.student_user.pk


def test_wecom_unreachable_is_a_calm_page(client, cast, wecom, settings):
    wecom.add_member("2023001", "张三")
    wecom.sign_in("2023001")
    callback = fake_to_callback(client, "sso_wecom_login")
    settings.FANZHA_WECOM_API_URL = "http://127.0.0.1:9"  # nothing listens there
    response = client.get(callback)
    assert response.status_code == 502 and "稍后重试" in response.content.decode()
