"""CAS 2 and 3 against a real CAS server (django-cas-server, started by tests/sso/conftest.py)."""

from __future__ import annotations

import signal
import socket
import time

import pytest
from django.urls import reverse

from fanzha.org.models import Person, User
from fanzha.sso.models import CasTicket, ExternalIdentity

from .conftest import cas_to_callback, signed_in_user_id

pytestmark = pytest.mark.slow


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Person.objects.count(), ExternalIdentity.objects.count()


@pytest.mark.parametrize("version", ["2", "3"])
def test_student_and_staff_sign_in_through_cas(client, cast, cas_on, settings, version):
    settings.CAS_VERSION = version

    response = client.get(cas_to_callback(client, "2023001", next_url="/people/"))
    assert response.status_code == 302 and response["Location"] == "/people/"
    assert signed_in_user_id(client) == cast.student_user.pk

    client.logout()
    response = client.get(cas_to_callback(client, "T0003"))
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert signed_in_user_id(client) == cast.counsellor.pk
    assert client.session["_auth_user_backend"] == "fanzha.sso.backends.SsoBackend"
    assert client.get(reverse("home")).status_code == 200  # the session holds

    record = ExternalIdentity.objects.get(provider="cas", subject="T0003")
    assert record.user == cast.counsellor and not record.opened_account


def test_a_student_without_an_account_gets_one(client, cast, cas_on):
    assert cast.math_student.user_id is None
    response = client.get(cas_to_callback(client, "2023101"))
    assert response.status_code == 302
    cast.math_student.refresh_from_db()
    user = cast.math_student.user
    assert user is not None and signed_in_user_id(client) == user.pk
    assert user.username == "UNI:2023101" and not user.has_usable_password()
    assert not user.grants.exists()
    assert ExternalIdentity.objects.get(provider="cas", subject="2023101").opened_account


def test_the_number_may_be_an_attribute(client, cast, cas_on, settings):
    """李四 signs in at the CAS server as "lisi"; the server sends the number as employeeNumber."""
    settings.FANZHA_CAS_NUMBER_ATTRIBUTE = "employeeNumber"
    client.get(cas_to_callback(client, "lisi"))
    cast.monitor.refresh_from_db()
    assert cast.monitor.user_id and signed_in_user_id(client) == cast.monitor.user_id
    assert ExternalIdentity.objects.get(provider="cas").subject == "lisi"


def test_a_missing_number_attribute_is_refused(client, cast, cas_on, settings):
    settings.FANZHA_CAS_NUMBER_ATTRIBUTE = "studentNumber"  # the server sends none
    before = counts()
    response = client.get(cas_to_callback(client, "2023001"))
    assert response.status_code == 403
    assert "没有提供您的学号/工号" in response.content.decode()
    assert signed_in_user_id(client) is None and counts() == before


def test_unknown_number_is_refused_and_nothing_created(client, cast, cas_on):
    before = counts()
    response = client.get(cas_to_callback(client, "9999999"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "没有找到学号/工号为 9999999 的人员" in page and "示范大学" in page
    assert reverse("login") in page
    assert signed_in_user_id(client) is None and counts() == before


def test_a_number_of_another_organisation_is_refused(client, cast, cas_on, strangers):
    """2029999 is a student of the other school: the CAS server is the university's."""
    before = counts()
    response = client.get(cas_to_callback(client, "2029999"))
    assert response.status_code == 403
    assert "没有找到学号/工号为 2029999" in response.content.decode()
    strangers["other"].refresh_from_db()
    assert strangers["other"].user_id is None and counts() == before


def test_staff_without_an_account_is_told_to_ask_an_administrator(client, cast, cas_on, strangers):
    before = counts()
    response = client.get(cas_to_callback(client, "T0999"))
    assert response.status_code == 403
    assert "请联系管理员开通账号" in response.content.decode()
    assert counts() == before


def test_a_ticket_brought_to_another_browser_is_refused(client, cast, cas_on):
    """Login CSRF: the attacker signs in at the CAS server and sends the victim the link back."""
    from django.test import Client

    callback = cas_to_callback(client, "2023001")  # the attacker's own sign-in
    victim = Client()
    response = victim.get(callback)
    assert response.status_code == 400
    assert "登录请求已失效" in response.content.decode()
    assert signed_in_user_id(victim) is None


def test_a_ticket_works_once_and_a_forged_one_not_at_all(client, cast, cas_on):
    callback = cas_to_callback(client, "2023001")
    assert client.get(callback).status_code == 302
    client.logout()
    assert client.get(callback).status_code == 400  # the state is spent

    forged = cas_to_callback(client, "2023001").split("&ticket=")[0] + "&ticket=ST-forged-by-hand"
    response = client.get(forged)
    assert response.status_code == 403
    assert "没有通过校验" in response.content.decode()
    assert signed_in_user_id(client) is None


def test_single_sign_out_ends_the_session(client, cast, cas_on):
    client.get(cas_to_callback(client, "2023001"))
    ticket = CasTicket.objects.get().ticket
    assert client.get(reverse("member_home")).status_code == 200  # the student's own page

    message = (
        '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="x1" Version="2.0" '
        'IssueInstant="2026-01-01T00:00:00Z"><saml:NameID>@NOT_USED@</saml:NameID>'
        f"<samlp:SessionIndex>{ticket}</samlp:SessionIndex></samlp:LogoutRequest>"
    )
    from django.test import Client

    server = Client()  # the CAS server posts without our cookies or CSRF token
    answer = server.post(reverse("sso_cas_callback"), {"logoutRequest": message})
    assert answer.status_code == 200
    assert client.get(reverse("member_home")).status_code == 302  # signed out: to the sign-in page
    assert signed_in_user_id(client) is None
    assert not CasTicket.objects.exists()


def test_a_cas_server_that_does_not_answer_is_given_up_on(client, cast, cas_on, settings):
    """Validation waits FANZHA_SSO_TIMEOUT, not for ever (requests' own default): one silent CAS server
    must not hold every server worker."""
    callback = cas_to_callback(client, "2023001")
    settings.FANZHA_SSO_TIMEOUT = 0.5

    def stuck(*_args: object) -> None:
        raise TimeoutError("still waiting after 10 s")

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.CAS_SERVER_URL = f"http://127.0.0.1:{silent.getsockname()[1]}/cas/"
        previous = signal.signal(signal.SIGALRM, stuck)
        signal.alarm(10)
        try:
            started = time.monotonic()
            response = client.get(callback)
            waited = time.monotonic() - started
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
    assert response.status_code == 502 and "稍后重试" in response.content.decode()
    assert waited < 5 and signed_in_user_id(client) is None
