"""Webhook URLs (they hold the robot's key) and signing secrets are sealed at rest like the other
secrets (security item 27): the database text never shows them; a migration seals the rows stored in
clear before."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse

from fanzha.notify import actions as notify
from fanzha.notify.models import Channel

pytestmark = pytest.mark.django_db

KEY = "5b1f2c3d-robot-key-0042-abcdef123456"
SECRET = "SECsigning-secret-0042-abcdef"


def raw_rows() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT url, secret FROM notify_channel ORDER BY id")
        return list(cursor.fetchall())


def test_no_robot_key_or_secret_in_the_database_text(client, cast):
    channel = notify.add_channel(
        unit=cast.cs2301,
        kind="dingtalk",
        name="群",
        url=f"https://oapi.dingtalk.com/robot/send?access_token={KEY}",
        secret=SECRET,
    )
    ((url, secret),) = raw_rows()
    assert KEY not in url and SECRET not in secret and "dingtalk" not in url and url and secret
    fresh = Channel.objects.get(pk=channel.pk)
    assert fresh.url.endswith(KEY) and fresh.secret == SECRET  # the application reads them in clear
    Channel.objects.filter(pk=channel.pk).update(
        url=f"https://oapi.dingtalk.com/robot/send?access_token={KEY}x"
    )
    assert KEY not in raw_rows()[0][0]  # an update seals too
    client.force_login(cast.school_admin)
    page = client.get(reverse("channel_list")).content.decode()
    assert KEY not in page and SECRET not in page and "https://oapi.dingtalk.com/robot/" in page


def test_the_migration_seals_rows_stored_in_clear_once(cast):
    migration = importlib.import_module("fanzha.notify.migrations.0003_robots")
    channel = notify.add_channel(
        unit=cast.cs2301, kind="wecom", name="群", url="https://qyapi.weixin.qq.com/x"
    )
    clear = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE notify_channel SET url = %s, secret = %s", [clear, SECRET])
    editor = SimpleNamespace(connection=connection)
    migration.seal_existing(None, editor)
    sealed = raw_rows()
    assert KEY not in sealed[0][0] and SECRET not in sealed[0][1]
    migration.seal_existing(None, editor)
    assert raw_rows() == sealed  # run again: nothing changes
    fresh = Channel.objects.get(pk=channel.pk)
    assert (fresh.url, fresh.secret) == (clear, SECRET)
    migration.open_existing(None, editor)
    assert raw_rows() == [(clear, SECRET)]
