"""The login lockout counts failures per account, however the login is spelled, and per address.

The outside test tried 24 wrong passwords on one account by respelling its phone number
(``+86 137…``, ``137.0000.1234``, ``tel:137…``), each spelling with a counter of its own, and then
signed in. Here every spelling of one phone or number is one account's counter, and nothing the
visitor typed is kept in clear in axes' tables.
"""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.test import Client
from django.urls import reverse

from fanzha.org import actions
from fanzha.org.lockout import lockout_key
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PHONE = "13700001234"

SPELLINGS = [
    "13700001234",
    "+86 13700001234",
    "+8613700001234",
    "137 0000 1234",
    "137-0000-1234",
    "137.0000.1234",
    "tel:13700001234",
    "tel:+86-137-0000-1234",
    "TEL:13700001234",
    "１３７００００１２３４",  # full-width digits
    "＋８６ １３７ ００００ １２３４",
    " 13700001234 ",
    "\t13700001234\n",
    "0086 137 0000 1234",
    "008613700001234",
    "86 13700001234",
    "8613700001234",
    "(137) 0000 1234",
    "+86 (137) 0000-1234",
    "137\u30000000\u30001234",  # ideographic spaces
    "137–0000–1234",  # en dashes
    "+86.137.0000.1234",
    "137/0000/1234",
]
NUMBER_SPELLINGS = ["T0777", "t0777", " T0777 ", "T 0777", "Ｔ０７７７", "UNI:T0777"]


@pytest.fixture
def officer(cast):
    person = actions.save_person(
        root=cast.uni, name="保卫处干事", kind="staff", external_number="T0777", phone=PHONE
    )
    return actions.create_account(person, PASSWORD)


def login(client: Client, username: str, password: str, address: str = "198.51.100.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in_as(client: Client):
    return client.session.get("_auth_user_id")


def test_every_spelling_names_the_account(officer):
    """Each spelling really signs in: the lockout test below is about logins that work."""
    assert len(SPELLINGS) >= 22
    for spelling in [*SPELLINGS, *NUMBER_SPELLINGS]:
        client = Client()
        response = login(client, spelling, PASSWORD)
        assert response.status_code == 302, spelling
        assert signed_in_as(client) == str(officer.pk), spelling
        assert lockout_key(spelling) == f"user:{officer.pk}", spelling


def test_five_failures_in_any_spellings_lock_the_account_for_every_spelling(officer, settings):
    client = Client()
    for spelling in SPELLINGS[: settings.AXES_FAILURE_LIMIT]:
        login(client, spelling, "wrong-password")
    for spelling in [*SPELLINGS, *NUMBER_SPELLINGS]:
        response = login(client, spelling, PASSWORD)
        assert response.status_code == 429, spelling
        assert "registration/locked.html" in [t.name for t in response.templates]
        assert signed_in_as(client) is None
    # The lock is the account's, not the address's: another address is refused as well.
    assert login(Client(), "137 0000 1234", PASSWORD, address="203.0.113.50").status_code == 429


def test_failures_on_the_number_and_the_phone_add_up(officer, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        spelling = NUMBER_SPELLINGS[attempt % len(NUMBER_SPELLINGS)] if attempt % 2 else SPELLINGS[attempt]
        login(Client(), spelling, "wrong-password", address=f"203.0.113.{attempt + 1}")
    assert login(Client(), PHONE, PASSWORD).status_code == 429


def test_lock_message_in_chinese_and_english(officer, settings):
    client = Client()
    for spelling in SPELLINGS[: settings.AXES_FAILURE_LIMIT]:
        login(client, spelling, "wrong-password")
    assert "账号已暂时锁定" in login(client, PHONE, PASSWORD).content.decode()
    english = client.post(
        reverse("login"), {"username": PHONE, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.status_code == 429
    assert "temporarily locked" in english.content.decode().lower()


def test_many_failures_from_one_address_lock_that_address(cast, officer, settings):
    settings.FANZHA_LOGIN_ADDRESS_FAILURE_LIMIT = 8
    client = Client()
    for n in range(7):  # a different login every time: no account reaches its own limit
        assert login(client, f"S{n:04d}", "guess", address="192.0.2.10").status_code == 200
    assert login(client, "S0007", "guess", address="192.0.2.10").status_code == 429  # the 8th locks
    assert login(client, PHONE, PASSWORD, address="192.0.2.10").status_code == 429
    assert signed_in_as(client) is None
    # The account itself is not locked: from another address the right password works.
    other = Client()
    assert login(other, PHONE, PASSWORD, address="192.0.2.11").status_code == 302


def test_a_success_resets_the_account_counter(officer, settings):
    for spelling in SPELLINGS[: settings.AXES_FAILURE_LIMIT - 1]:
        login(Client(), spelling, "wrong-password")
    assert login(Client(), "tel:13700001234", PASSWORD).status_code == 302
    for spelling in SPELLINGS[: settings.AXES_FAILURE_LIMIT - 1]:
        login(Client(), spelling, "wrong-password")
    assert login(Client(), PHONE, PASSWORD).status_code == 302


def test_axes_tables_hold_no_typed_phone_or_number(cast, officer, settings):
    settings.AXES_ENABLE_ACCESS_FAILURE_LOG = True
    client = Client()
    for spelling in [*SPELLINGS[:3], *NUMBER_SPELLINGS[:1]]:
        login(client, spelling, "wrong-password")
    login(client, "13912345678", "guess")  # a phone nobody has
    login(client, "S9999", "guess")  # a number nobody has
    assert login(Client(), "137 0000 1234", PASSWORD).status_code == 302

    rows = [*AccessAttempt.objects.all(), *AccessFailureLog.objects.all(), *AccessLog.objects.all()]
    assert AccessAttempt.objects.exists() and AccessFailureLog.objects.exists() and AccessLog.objects.exists()
    texts = []
    for row in rows:
        assert re.fullmatch(r"user:\d+|login:[0-9a-f]{64}", row.username), row.username
        texts += [row.username, getattr(row, "get_data", ""), getattr(row, "post_data", "")]
    assert {row.username for row in AccessLog.objects.all()} == {f"user:{officer.pk}"}
    for text in texts:
        for secret in (PHONE, "1370000", "0000 1234", "13912345678", "T0777", "S9999", "UNI:"):
            assert secret not in text
    for row in AccessAttempt.objects.filter(username__startswith="user:"):
        assert PHONE[-4:] not in row.username and PHONE[:3] not in row.username


def test_unknown_logins_share_a_counter_across_spellings(cast, settings):
    keys = {lockout_key(s) for s in ["139 1234 5678", "+8613912345678", "tel:13912345678"]}
    assert len(keys) == 1 and keys.pop().startswith("login:")
    assert lockout_key("s9999") == lockout_key(" S9999 ")
    assert lockout_key("S9999") != lockout_key("S9998")


def test_a_number_shared_by_two_organisations_counts_against_both(cast, settings):
    other_user = actions.create_account(cast.other_student, PASSWORD)
    both = lockout_key("2023001")
    assert both == "user:" + ",".join(str(pk) for pk in sorted([cast.student_user.pk, other_user.pk]))
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        login(Client(), "2023001", "wrong-password")
    # Each account is locked, also under a login that names it alone.
    assert login(Client(), "138 0013 8000", PASSWORD).status_code == 429
    assert login(Client(), "OTH:2023001", PASSWORD).status_code == 429


def test_failures_on_one_account_of_a_shared_number_lock_the_shared_number(cast, settings):
    actions.create_account(cast.other_student, PASSWORD)
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        login(Client(), "+86 138 0013 8000", "wrong-password")
    assert login(Client(), "2023001", PASSWORD).status_code == 429  # 张三 is one of the two it names
    assert login(Client(), "OTH:2023001", PASSWORD).status_code == 302  # 赵六 alone is not locked
