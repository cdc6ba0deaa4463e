"""Phone and ID-card numbers: normalisation, checksum, masking, encryption, log redaction."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from fanzha.core import crypto
from fanzha.core.identifiers import mask_id_number, mask_phone, normalize_id_number, normalize_phone
from fanzha.core.logging import RedactFilter, redact


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("010-12345678", "01012345678"),
        ("4008123123", "4008123123"),
        ("95588", "95588"),
    ],
)
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "123", "1380013800", "+1 202 555 0100", "abc"])
def test_bad_phone(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)


def test_id_checksum():
    assert normalize_id_number("11010519491231002x") == "11010519491231002X"
    with pytest.raises(ValidationError) as info:
        normalize_id_number("110105194912310021")
    assert info.value.code == "checksum"
    with pytest.raises(ValidationError) as info:
        normalize_id_number("1101051949")
    assert info.value.code == "length"


def test_masks():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_phone("") == ""


@given(st.text(max_size=40))
def test_encryption_round_trip(value):
    token = crypto.encrypt(value)
    assert crypto.decrypt(token) == value
    if value:
        assert value not in token or len(value) < 3


def test_keyed_hash_stable_and_keyed(settings):
    first = crypto.keyed_hash("13800138000")
    assert first == crypto.keyed_hash("13800138000")
    settings.FANZHA_FIELD_KEY = "another-key"
    assert crypto.keyed_hash("13800138000") != first


def test_tampered_token_reads_empty():
    assert crypto.decrypt("not-a-token") == ""


def test_log_redaction(caplog):
    assert "13800138000" not in redact("call 13800138000 now")
    assert "11010519491231002X" not in redact("id 11010519491231002X")
    logger = logging.getLogger("fanzha.test")
    logger.addFilter(RedactFilter())
    with caplog.at_level(logging.INFO, logger="fanzha.test"):
        logger.info("victim phone %s card %s", "13800138000", "6222020200112233445")
    assert "13800138000" not in caplog.text and "6222020200112233445" not in caplog.text
    assert "[redacted]" in caplog.text
