"""The demo logins of every level (issue "Everyone who must act can sign in and act", Demo): a
kindergarten teacher, a middle-school class teacher, a dorm manager and a dorm head, a police station
officer, the county police anti-fraud centre admin and a bank branch manager, each with work waiting;
``fanzha demo-logins [--json]`` prints the table ``fanzha demo`` prints.

One tiny world per test module would need a committed database; each test builds its own (seconds).
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from fanzha.campaigns.home import due_rows
from fanzha.campaigns.letters.actions import can_sign, can_sign_as_member
from fanzha.campaigns.letters.queries import letters_for_member, letters_to_sign
from fanzha.org import demo
from fanzha.org.models import Role

TINY = "0.02"
NEW_LOGINS = (
    "kg_teacher",
    "class_teacher",
    Role.DORM_MANAGER,
    "dorm_head",
    Role.POLICE_ADMIN,
    Role.POLICE_OFFICER,
    Role.BANK_BRANCH_MANAGER,
)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def world(db) -> str:
    return run("demo", "--no-serve", "--scale", TINY)


def test_demo_logins_prints_the_table_the_demo_printed(world):
    table = run("demo-logins")
    assert table.strip() in world
    rows = json.loads(run("demo-logins", "--json"))
    logins = demo.demo_logins()
    assert [r["role"] for r in rows] == [d.role for d in logins]
    assert {r["password"] for r in rows} == {settings.FANZHA_DEMO_PASSWORD}
    for row in rows:
        assert row["login"] and row["name"] and row["scope"], row
        assert row["login"] in table and row["name"] in table and row["label"] in table
    assert set(NEW_LOGINS) <= {r["role"] for r in rows}


def test_demo_logins_needs_a_demo_world(db):
    with pytest.raises(CommandError):
        run("demo-logins")


def test_every_new_login_signs_in_and_finds_work_waiting(world, client):
    logins = {d.role: d for d in demo.demo_logins()}
    for key in NEW_LOGINS:
        login = logins[key]
        assert login.user is not None, key
        response = client.post(
            "/login/", {"username": login.login, "password": settings.FANZHA_DEMO_PASSWORD}
        )
        assert response.status_code == 302, key
        client.logout()
    # An obligation of this period still to do, for everyone who answers for a unit's work.
    for key in NEW_LOGINS:
        if key == "dorm_head":
            continue
        rows = due_rows(logins[key].user)
        assert rows, f"{key} has no obligation due"
    # A letter to sign: the class teacher's with the school; the building's manager is no party of the
    # plan's letters (class and room sign theirs), so is offered none (issue 15: only the party signs).
    waiting = letters_to_sign(logins["class_teacher"].user)
    assert waiting, "the class teacher has no letter to sign"
    assert all(can_sign(logins["class_teacher"].user, t.letter, t.side) for t in waiting)
    assert letters_to_sign(logins[Role.DORM_MANAGER].user) == []
    head = logins["dorm_head"].user.person
    waiting = letters_for_member(head)
    assert waiting and all(can_sign_as_member(head, t.letter) for t in waiting)
    assert all(t.side == "lower" for t in waiting)
    assert {t.letter.pk for t in waiting} <= {t.letter.pk for t in letters_to_sign(logins["dorm_head"].user)}
