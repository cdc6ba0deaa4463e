"""The one way an SMS request leaves: a POST to the provider's endpoint, its answer read whole or not at all.

Why its own: the endpoint is the operator's setting (the provider's public host, or
``FANZHA_SMS_ENDPOINT`` for a private gateway or a test's fake), never typed by a user, so it needs no
allow-list like the robots' webhooks; it needs a timeout, certificate checks for https, no redirects,
and one word for every way of getting no answer.
"""

from __future__ import annotations

import http.client
import re
import ssl
from urllib.parse import urlsplit

from ..webhooks import MAX_ANSWER_BYTES, Answer

__all__ = ["Answer", "Unreachable", "post", "provider_code"]


class Unreachable(Exception):
    """No HTTP answer came back (connection, TLS, timeout or protocol failure)."""


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body`` to ``url`` (http or https); the status and (the start of) the answer."""
    split = urlsplit(url)
    if split.scheme not in ("http", "https") or not split.hostname:
        raise Unreachable(f"not an http(s) endpoint: {split.scheme}")
    path = (split.path or "/") + (f"?{split.query}" if split.query else "")
    connection: http.client.HTTPConnection
    if split.scheme == "https":
        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(split.hostname, split.port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(split.hostname, split.port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, response.read(MAX_ANSWER_BYTES))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise Unreachable(type(exc).__name__) from exc
    finally:
        connection.close()


_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,80}")


def provider_code(value: object) -> str:
    """A provider's result code as kept on the row (``isv.BUSINESS_LIMIT_CONTROL``), or "" when the
    value does not look like one: nothing else the remote side says is kept."""
    text = str(value or "")
    return text if _CODE.fullmatch(text) else ""
