"""The daily account work from start to end through the product's own pages, never /admin/."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from fanzha.org.models import Person, User
from tests.conftest import PASSWORD

from .conftest import CODE, SmsCapture, deliver, last_link

pytestmark = pytest.mark.django_db


class Browser(Client):
    """A client that remembers every path it asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.paths: list[str] = []

    def request(self, **request):
        self.paths.append(request["PATH_INFO"])
        return super().request(**request)


def test_open_invite_grant_sign_in_reset_deactivate_without_the_admin_site(cast, teacher):
    admin, person = Browser(), Browser()
    assert admin.post(reverse("login"), {"username": "T0001", "password": PASSWORD}).status_code == 302

    # The school administrator finds the teacher and opens an account, with an e-mail address.
    page = admin.get(reverse("person_detail", args=[teacher.pk])).content.decode()
    assert reverse("account_open", args=[teacher.pk]) in page
    admin.post(reverse("account_open", args=[teacher.pk]), {"email": "lin@example.edu.cn"})

    # The teacher follows the e-mailed link and chooses a password: signed in.
    first = person.get(last_link(mail.outbox[-1].body))
    chosen = "Lin-own-pass-2026!"
    done = person.post(first["Location"], {"new_password1": chosen, "new_password2": chosen})
    assert done["Location"] == reverse("home")
    person.post(reverse("logout"))

    # The administrator makes the teacher counsellor of a class, on the class's page.
    page = admin.get(reverse("unit_detail", args=[cast.cs2301.pk])).content.decode()
    assert reverse("account_grant", args=[cast.cs2301.pk]) in page
    admin.post(reverse("account_grant", args=[cast.cs2301.pk]), {"login": "T0100", "role": "counsellor"})

    # The teacher signs in with the number and sees the class.
    assert person.post(reverse("login"), {"username": "T0100", "password": chosen}).status_code == 302
    assert person.get(reverse("unit_detail", args=[cast.cs2301.pk])).status_code == 200
    person.post(reverse("logout"))

    # Forgotten: a code by SMS, a new password.
    person.post(reverse("account_forgot"), {"login": "T0100"})
    deliver()  # the worker's next round
    code = CODE.search(SmsCapture.sent[-1][1]).group(1)
    again = "Lin-again-2026!"
    person.post(
        reverse("account_forgot_code"), {"code": code, "new_password1": again, "new_password2": again}
    )
    assert person.post(reverse("login"), {"username": "T0100", "password": again}).status_code == 302

    # The administrator sees the last sign-in, then deactivates the account: the teacher is out.
    user = User.objects.get(person=teacher)
    listed = admin.get(reverse("account_list"), {"q": "林"})
    assert [u.pk for u in listed.context["paged"].page.object_list] == [user.pk]
    assert listed.context["paged"].page.object_list[0].last_login is not None
    admin.post(reverse("account_deactivate", args=[user.pk]))
    assert person.get(reverse("home")).status_code == 302
    assert not User.objects.get(pk=user.pk).is_active
    assert Person.objects.get(pk=teacher.pk).user_id == user.pk

    every = admin.paths + person.paths
    assert len(every) > 15 and not [p for p in every if p.startswith("/admin/")]
