"""DingTalk (钉钉) sign-in against the local fake of fanzha/bench/oauth_fakes.py, which follows DingTalk's
documented exchange: authCode once and for five minutes, the corp's address book, DingTalk's errors."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.urls import reverse

from fanzha.org.models import Person, User
from fanzha.sso.models import ExternalIdentity

from .conftest import Browser, back_here, fake_to_callback, signed_in_user_id


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Person.objects.count(), ExternalIdentity.objects.count()


def test_staff_sign_in_with_their_job_number(client, cast, dingtalk):
    dingtalk.add_user("union-jia", "辅导员甲", userid="manager4521", job_number="T0003")
    dingtalk.sign_in("union-jia")
    start = client.get(reverse("sso_dingtalk_login"), {"next": "/units/"})
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["client_id"] == [dingtalk.client_id] and query["scope"] == ["openid"]
    assert query["prompt"] == ["consent"] and query["state"]

    response = client.get(fake_to_callback(client, "sso_dingtalk_login"))
    assert response.status_code == 302
    assert signed_in_user_id(client) == cast.counsellor.pk
    record = ExternalIdentity.objects.get(provider="dingtalk")
    assert record.subject == "union-jia" and record.user == cast.counsellor


def test_next_page_is_kept_and_a_foreign_one_dropped(client, cast, dingtalk):
    dingtalk.add_user("union-zs", "张三", userid="2023001", job_number="2023001")
    dingtalk.sign_in("union-zs")
    start = client.get(reverse("sso_dingtalk_login"), {"next": "/units/"})
    answer = Browser().get(start["Location"])
    response = client.get(back_here(answer.headers["Location"]))
    assert response["Location"] == "/units/"

    client.logout()
    start = client.get(reverse("sso_dingtalk_login"), {"next": "https://evil.example.com/"})
    answer = Browser().get(start["Location"])
    response = client.get(back_here(answer.headers["Location"]))
    assert response["Location"] == reverse("home")


def test_a_student_with_the_userid_as_number_gets_an_account(client, cast, dingtalk, settings):
    settings.FANZHA_DINGTALK_NUMBER_FIELD = "userid"
    dingtalk.add_user("union-ww", "王五", userid="2023101")
    dingtalk.sign_in("union-ww")
    client.get(fake_to_callback(client, "sso_dingtalk_login"))
    cast.math_student.refresh_from_db()
    assert cast.math_student.user_id and signed_in_user_id(client) == cast.math_student.user_id
    assert not dingtalk.called("/topapi/v2/user/get")  # the userid is enough


def test_someone_outside_the_corp_is_refused(client, cast, dingtalk):
    before = counts()
    dingtalk.add_user("union-outsider", "路人")  # a DingTalk user, not in the corp's address book
    dingtalk.sign_in("union-outsider")
    response = client.get(fake_to_callback(client, "sso_dingtalk_login"))
    assert response.status_code == 403 and "不在本单位的通讯录中" in response.content.decode()
    assert dingtalk.called("/topapi/user/getbyunionid")[-1].answer["errcode"] == 60121
    assert counts() == before


def test_unknown_and_foreign_numbers_are_refused(client, cast, dingtalk, strangers):
    before = counts()
    for number in ("9999999", "2029999"):
        dingtalk.add_user("union-" + number, "某人", userid="u" + number, job_number=number)
        dingtalk.sign_in("union-" + number)
        response = client.get(fake_to_callback(client, "sso_dingtalk_login"))
        assert response.status_code == 403 and f"学号/工号为 {number}" in response.content.decode()
    assert signed_in_user_id(client) is None and counts() == before


def test_an_auth_code_works_once(client, cast, dingtalk):
    dingtalk.add_user("union-zs", "张三", userid="zs", job_number="2023001")
    dingtalk.sign_in("union-zs")
    first = fake_to_callback(client, "sso_dingtalk_login")
    code = parse_qs(urlsplit(first).query)["authCode"][0]
    assert client.get(first).status_code == 302
    client.logout()

    fresh = fake_to_callback(client, "sso_dingtalk_login")
    replay = fresh.replace(parse_qs(urlsplit(fresh).query)["authCode"][0], code)
    response = client.get(replay)
    assert response.status_code == 403 and signed_in_user_id(client) is None
    last = dingtalk.called("/v1.0/oauth2/userAccessToken")[-1]
    assert last.status == 400 and last.answer["code"] == "invalidParameter.authCode.notFound"


def test_a_tampered_state_is_refused_before_dingtalk_is_asked(client, cast, dingtalk):
    dingtalk.add_user("union-zs", "张三", userid="zs", job_number="2023001")
    dingtalk.sign_in("union-zs")
    callback = fake_to_callback(client, "sso_dingtalk_login")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    response = client.get(callback.replace(state, "0" * len(state)))
    assert response.status_code == 400 and signed_in_user_id(client) is None
    assert not dingtalk.called("/v1.0/oauth2/userAccessToken")


def test_cancelled_consent_is_refused(client, cast, dingtalk):
    start = client.get(reverse("sso_dingtalk_login"))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    response = client.get(reverse("sso_dingtalk_callback"), {"error": "access_denied", "state": state})
    assert response.status_code == 403 and "授权被取消" in response.content.decode()
