"""Where a robot message may go (security item 6, server-side request forgery): only the three
services' https hosts and the operator's allow-list; internal addresses refused after resolving; the
connection pinned to the checked address; failures told in the same words, whatever the port did."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from fanzha.notify import actions as notify
from fanzha.notify import delivery, errors, webhooks
from fanzha.notify.models import Channel, Outbox
from tests.webhooks import running_receiver

pytestmark = pytest.mark.django_db

REFUSED = str(errors.WORDS[errors.ADDRESS_REFUSED])
UNREACHABLE = str(errors.WORDS[errors.UNREACHABLE])

INTERNAL = [
    "https://127.0.0.1/hook",
    "https://10.1.2.3/cgi-bin/webhook/send?key=k",
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "https://localhost/hook",  # a name that resolves to 127.0.0.1
    "https://example.com/hook",  # public, but not a robot service
    "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",  # a robot service, but not https
    "https://qyapi.weixin.qq.com:8443/cgi-bin/webhook/send?key=k",  # nor its port
    "https://user:pw@oapi.dingtalk.com/robot/send?access_token=t",
    "ftp://oapi.dingtalk.com/robot/send",
    "https://oapi.dingtalk.com/robot/send?access_token=t HTTP/1.1\r\nX-Injected: 1",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_refused_when_saved_with_one_message(cast, url):
    with pytest.raises(ValidationError) as info:
        notify.add_channel(unit=cast.cs2301, kind="wecom", name="群", url=url)
    assert info.value.message_dict == {"url": [REFUSED]}
    assert not Channel.objects.exists()


def test_refused_on_the_form_and_on_edit(client, cast):
    client.force_login(cast.school_admin)
    data = {
        "unit": cast.cs2301.pk,
        "kind": "dingtalk",
        "name": "群",
        "url": "http://169.254.169.254/x",
        "audience": "staff",
    }
    response = client.post(reverse("channel_create"), data)
    assert response.status_code == 400 and response.context["form"].errors["url"] == [REFUSED]
    channel = notify.add_channel(
        unit=cast.cs2301,
        kind="wecom",
        name="群",
        url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
    )
    response = client.post(
        reverse("channel_edit", args=[channel.pk]),
        {"kind": "wecom", "name": "群", "url": "https://10.0.0.1/x", "audience": "staff"},
    )
    assert response.status_code == 400 and response.context["form"].errors["url"] == [REFUSED]


@pytest.mark.parametrize("url", INTERNAL)
def test_refused_at_send_with_the_same_message_and_nothing_connects(cast, url, monkeypatch):
    channel = notify.add_channel(
        unit=cast.cs2301,
        kind="wecom",
        name="群",
        url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
    )
    Channel.objects.filter(pk=channel.pk).update(url=url)  # stored before the check existed

    def no_connection(*args, **kwargs):
        raise AssertionError("a refused address was connected to")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    row = notify.queue("wecom", channel, subject="s", body="b", key="k")
    row = delivery.deliver_now(row)
    assert (row.status, row.last_error, row.attempts) == (
        Outbox.Status.FAILED,
        "address_refused",
        delivery.MAX_ATTEMPTS,
    )
    assert row.error_text == REFUSED


def test_the_test_button_refuses_an_internal_address_in_the_same_words(client, cast):
    with running_receiver() as receiver:  # listening on 127.0.0.1, but not allow-listed
        channel = notify.add_channel(
            unit=cast.cs2301,
            kind="wecom",
            name="群",
            url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
        )
        Channel.objects.filter(pk=channel.pk).update(url=f"{receiver.url}/hook")
        client.force_login(cast.school_admin)
        response = client.post(reverse("channel_test", args=[channel.pk]), follow=True)
        assert receiver.requests == []
    assert REFUSED in response.content.decode()


def test_a_service_host_that_resolves_to_an_internal_address_is_refused(cast, monkeypatch):
    channel = notify.add_channel(
        unit=cast.cs2301, kind="feishu", name="群", url="https://open.feishu.cn/open-apis/bot/v2/hook/x"
    )
    monkeypatch.setattr(webhooks, "resolve", lambda host, port: ["101.32.1.9", "10.0.0.7"])  # DNS rebinding
    row = delivery.deliver_now(notify.queue("feishu", channel, subject="s", body="b", key="k"))
    assert (row.last_error, row.error_text) == ("address_refused", REFUSED)
    for internal in (
        "127.0.0.1",
        "10.0.0.7",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::",
    ):
        assert webhooks.forbidden(internal), internal
    assert not webhooks.forbidden("101.32.1.9") and not webhooks.forbidden("2402:4e00::1")  # public


def test_the_connection_goes_to_the_checked_address_with_the_hosts_name(cast, settings, monkeypatch):
    """An allow-listed name resolved once, connected to by address, asked for by name: no second DNS
    lookup between the check and the connect."""
    with running_receiver() as receiver:
        port = int(receiver.url.rsplit(":", 1)[1])
        settings.FANZHA_WEBHOOK_ALLOWED_HOSTS = [f"http://robots.intranet.example:{port}"]
        lookups: list[str] = []

        def fake_dns(host: str, port: int) -> list[str]:
            lookups.append(host)
            return ["127.0.0.1"]

        monkeypatch.setattr(webhooks, "resolve", fake_dns)
        url = f"http://robots.intranet.example:{port}/cgi-bin/webhook/send?key=k"
        channel = notify.add_channel(unit=cast.cs2301, kind="wecom", name="群", url=url)
        row = delivery.deliver_now(notify.queue("wecom", channel, subject="s", body="b", key="k"))
        assert row.status == Outbox.Status.SENT
        (request,) = receiver.requests
    assert lookups == ["robots.intranet.example"]
    assert request["host"] == f"robots.intranet.example:{port}"


def test_redirects_are_not_followed(cast, receiver):
    receiver.status = 302
    channel = notify.add_channel(unit=cast.cs2301, kind="wecom", name="群", url=f"{receiver.url}/hook")
    row = delivery.deliver_now(notify.queue("wecom", channel, subject="s", body="b", key="k"))
    assert row.status == Outbox.Status.FAILED and len(receiver.requests) == 1


@contextmanager
def odd_server(mode: str) -> Iterator[int]:
    """A port of 127.0.0.1 that is closed, silent (never answers) or speaks something other than HTTP."""
    if mode == "closed":
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        yield port
        return
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        held = []
        while not stop.is_set():
            try:
                conn, _addr = server.accept()
            except OSError:
                continue
            if mode == "garbage":
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
                conn.close()
            else:
                held.append(conn)
        for conn in held:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        server.close()


def test_closed_silent_and_non_http_ports_look_the_same(cast, settings, monkeypatch):
    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", 0.3)
    texts = []
    for mode in ("closed", "silent", "garbage"):
        with odd_server(mode) as port:
            settings.FANZHA_WEBHOOK_ALLOWED_HOSTS = [f"http://127.0.0.1:{port}"]
            channel = notify.add_channel(
                unit=cast.cs2301, kind="wecom", name=mode, url=f"http://127.0.0.1:{port}/x"
            )
            row = delivery.deliver_now(notify.queue("wecom", channel, subject="s", body="b", key=mode))
            texts.append((row.status, row.last_error, row.error_text))
    assert texts == [(Outbox.Status.FAILED, "unreachable", UNREACHABLE)] * 3


def test_the_operator_allow_list_syntax(settings):
    assert webhooks.parse_entry("im.example.edu.cn") == webhooks.Allowed("https", "im.example.edu.cn", 443)
    assert webhooks.parse_entry("IM.example.edu.cn:8443") == webhooks.Allowed(
        "https", "im.example.edu.cn", 8443
    )
    assert webhooks.parse_entry("http://10.0.0.5:8080/") == webhooks.Allowed("http", "10.0.0.5", 8080)
    assert webhooks.parse_entry("https://[fd00::1]:9443") == webhooks.Allowed("https", "fd00::1", 9443)
    with pytest.raises(ValueError):
        webhooks.parse_entry("http://host/path")
    settings.FANZHA_WEBHOOK_ALLOWED_HOSTS = "im.example.edu.cn, http://10.0.0.5:8080"
    assert webhooks.check_url("https://im.example.edu.cn/hook").trusted
    assert webhooks.check_url("http://10.0.0.5:8080/hook").trusted
    for refused in ("http://im.example.edu.cn/hook", "https://10.0.0.5:8080/hook", "http://10.0.0.5/hook"):
        with pytest.raises(webhooks.Refused):
            webhooks.check_url(refused)
    assert not webhooks.check_url("https://open.larksuite.com/open-apis/bot/v2/hook/x").trusted
