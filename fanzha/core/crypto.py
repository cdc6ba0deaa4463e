"""Field encryption and keyed hashes for sensitive identifiers (ID-card and phone numbers).

Why: PIPL treats these as sensitive personal information. They are stored encrypted
(Fernet, key derived from ``FANZHA_FIELD_KEY``) and looked up by an HMAC of the
normalised value, so that a database dump alone reveals nothing and equality search
still works.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@lru_cache(maxsize=4)
def _keys(secret: str) -> tuple[Fernet, bytes]:
    material = hashlib.sha256(("fanzha-field-key:" + secret).encode()).digest()
    fernet = Fernet(base64.urlsafe_b64encode(material))
    mac_key = hashlib.sha256(("fanzha-hash-key:" + secret).encode()).digest()
    return fernet, mac_key


def encrypt(value: str) -> str:
    """Encrypt a string for storage; empty stays empty."""
    if not value:
        return ""
    fernet, _ = _keys(settings.FANZHA_FIELD_KEY)
    return fernet.encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a stored value; an unreadable token yields an empty string, never an exception."""
    if not token:
        return ""
    fernet, _ = _keys(settings.FANZHA_FIELD_KEY)
    try:
        return fernet.decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of a normalised identifier, for equality lookups; empty stays empty."""
    if not value:
        return ""
    _, mac_key = _keys(settings.FANZHA_FIELD_KEY)
    return hmac.new(mac_key, value.encode(), hashlib.sha256).hexdigest()


class Sealed(NamedTuple):
    """A sensitive identifier as it is stored: encrypted, keyed hash for lookups, masked for lists."""

    enc: str
    hash: str
    masked: str


def seal(value: str, mask: Callable[[str], str]) -> Sealed:
    """Encrypt, hash and mask one normalised value together, so the three columns never disagree."""
    return Sealed(encrypt(value), keyed_hash(value), mask(value))
