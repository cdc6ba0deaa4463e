"""Where a chat-group robot message may go, and the one way it is posted there.

Why this exists: a channel's URL is typed by a unit's administrator, and the server posts to it. Left
open, that is a server-side request forgery: the "send test message" button would probe the
intranet (127.0.0.1, 10.x, the cloud metadata address 169.254.169.254) and tell open, closed and
non-HTTP ports apart. So:

* A URL must use https and a host on the allowed list: the three robot services' own hosts
  (``DEFAULT_HOSTS``), plus what the operator lists in ``FANZHA_WEBHOOK_ALLOWED_HOSTS`` for a private
  deployment. Anything else is refused, when the channel is saved and again at every send.
* The host is resolved and every address it resolves to is checked: loopback, private, link-local,
  multicast, reserved, shared and unspecified addresses are refused, unless the operator listed the
  host (then it is trusted to be internal).
* The connection goes to the address that was checked (``PinnedHTTPSConnection``): no second DNS
  lookup between the check and the connect, while the Host header, SNI and the certificate check
  still use the host name. Redirects are never followed.
* Failures are reported in one word each (``Refused``, ``Unreachable``): nothing tells a closed port
  from a filtered one or from a server that is not HTTP, and the remote text is never repeated.

``FANZHA_WEBHOOK_ALLOWED_HOSTS`` syntax: a comma-separated list of entries, each ``host``,
``host:port``, ``https://host[:port]`` or ``http://host[:port]``. A bare entry or ``https://`` allows
https only; ``http://`` (for a private deployment without TLS) allows plain http to that host only.
Without a port an entry allows the scheme's default port (443 or 80). Host names are compared
case-insensitively; an IPv6 address is written in brackets (``[fd00::1]:8443``).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

DEFAULT_HOSTS = ("qyapi.weixin.qq.com", "oapi.dingtalk.com", "open.feishu.cn", "open.larksuite.com")
# The demo's robots (``fanzha demo``) live on this host: ``.invalid`` never resolves (RFC 6761), so a
# message to one is booked as delivered without any connection (``delivery._send_webhook``). Nobody
# else can save a channel there: the host is on no allow-list (the demo lists it only while it builds).
DEMO_HOST = "robot.fanzha-demo.invalid"
DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_ANSWER_BYTES = 64 * 1024


class Refused(Exception):
    """The URL, or an address its host resolves to, is not allowed."""


class Unreachable(Exception):
    """No HTTP answer came back (connection, TLS, timeout or protocol failure); which one is not said."""


@dataclass(frozen=True)
class Allowed:
    scheme: str
    host: str
    port: int


@dataclass(frozen=True)
class Target:
    """A URL that passed the allow-list: where to connect and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    trusted: bool  # listed by the operator: its addresses are not checked


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None


def _host(value: str) -> str:
    return value.strip().strip("[]").rstrip(".").lower()


def parse_entry(entry: str) -> Allowed:
    """One entry of ``FANZHA_WEBHOOK_ALLOWED_HOSTS`` (see the module's docstring for the syntax)."""
    text = entry.strip()
    scheme = "https"
    for prefix in ("https://", "http://"):
        if text.lower().startswith(prefix):
            scheme = prefix[:-3]
            text = text[len(prefix) :]
    text = text.rstrip("/")
    split = urlsplit(f"//{text}")
    if not split.hostname or split.path or split.username:
        raise ValueError(f"FANZHA_WEBHOOK_ALLOWED_HOSTS: not a host or host:port: {entry!r}")
    return Allowed(scheme, _host(split.hostname), split.port or DEFAULT_PORTS[scheme])


def operator_hosts() -> list[Allowed]:
    """The operator's allow-list, parsed (a list or one comma-separated string in the setting)."""
    raw: Any = getattr(settings, "FANZHA_WEBHOOK_ALLOWED_HOSTS", ()) or ()
    entries = raw.split(",") if isinstance(raw, str) else list(raw)
    return [parse_entry(e) for e in entries if e.strip()]


def is_demo(url: str) -> bool:
    """Whether ``url`` is one of the demo's pretend robots (on ``DEMO_HOST``)."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower() == DEMO_HOST
    except ValueError:
        return False


def check_url(url: str) -> Target:
    """The target of ``url`` if its scheme, host and port are allowed; ``Refused`` otherwise."""
    url = url.strip()
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise Refused  # no room for a second header or request line
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError as exc:
        raise Refused from exc
    scheme = split.scheme.lower()
    if scheme not in DEFAULT_PORTS or not split.hostname or split.username or split.password:
        raise Refused
    host = _host(split.hostname)
    port = port or DEFAULT_PORTS[scheme]
    path = (split.path or "/") + (f"?{split.query}" if split.query else "")
    if Allowed(scheme, host, port) in operator_hosts():
        return Target(scheme, host, port, path, trusted=True)
    if scheme == "https" and port == 443 and host in DEFAULT_HOSTS:
        return Target(scheme, host, port, path, trusted=False)
    raise Refused


def forbidden(address: str) -> bool:
    """Whether an address is internal or special (anything but a global unicast address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (a separate function so that tests can play DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Unreachable from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_for(target: Target) -> str:
    """The address to connect to: resolved once, and checked unless the operator trusts the host."""
    addresses = resolve(target.host, target.port)
    if not addresses:
        raise Unreachable
    if not target.trusted and any(forbidden(a) for a in addresses):
        raise Refused
    return addresses[0]


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a fixed address, whatever its host name resolves to by then."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

        def create_connection(_where: Any, timeout: Any = None, source: Any = None) -> socket.socket:
            return socket.create_connection((address, port), timeout, source)

        self._create_connection = create_connection


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same with TLS: the socket goes to the fixed address, SNI and the certificate check use the
    host name (``HTTPSConnection.connect`` wraps with ``server_hostname=self.host``)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())

        def create_connection(_where: Any, timeout: Any = None, source: Any = None) -> socket.socket:
            return socket.create_connection((address, port), timeout, source)

        self._create_connection = create_connection


def post_json(url: str, body: dict[str, Any], timeout: float) -> Answer:
    """POST ``body`` as JSON to ``url`` through the checks above; the status and (the start of) the
    answer, whatever it is. Raises ``Refused`` or ``Unreachable``, nothing else."""
    target = check_url(url)
    address = address_for(target)
    kind = PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection
    connection = kind(target.host, target.port, address, timeout)
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    try:
        connection.request(
            "POST", target.path, body=data, headers={"Content-Type": "application/json; charset=utf-8"}
        )
        response = connection.getresponse()
        return Answer(response.status, response.read(MAX_ANSWER_BYTES))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise Unreachable from exc
    finally:
        connection.close()
