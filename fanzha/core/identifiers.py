"""Validation, normalisation and masking of Chinese phone and ID-card numbers."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import luhn
from stdnum.cn import ric

_SPACES = re.compile(r"[\s\-()（）]")


def normalize_phone(raw: str) -> str:
    """Return a Chinese phone number in national digits (mobile ``13812345678``, landline ``01012345678``).

    Accepts +86/0086 prefixes, spaces and dashes, 400/800 service numbers and 95xxx short numbers.
    Raises ``ValidationError`` with a message in the user's language.
    """
    value = _SPACES.sub("", str(raw or ""))
    if not value:
        raise ValidationError(_("手机号为空"), code="empty")
    if value.startswith("0086"):
        value = "+86" + value[4:]
    if re.fullmatch(r"95\d{3,6}", value) or re.fullmatch(r"(400|800)\d{7}", value):
        return value
    try:
        parsed = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("手机号格式不正确"), code="invalid") from exc
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        raise ValidationError(_("手机号格式不正确"), code="invalid")
    national = str(parsed.national_number)
    if phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.FIXED_LINE:
        national = "0" + national
    return national


def normalize_id_number(raw: str) -> str:
    """Return an 18-digit resident ID number with upper-case check character, checksum verified."""
    value = _SPACES.sub("", str(raw or "")).upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise ValidationError(_("身份证号应为18位"), code="length")
    try:
        ric.validate(value)
    except Exception as exc:  # stdnum raises several ValidationError subclasses
        raise ValidationError(_("身份证号校验位错误"), code="checksum") from exc
    return value


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``."""
    if not value:
        return ""
    if len(value) <= 7:
        return value[:2] + "*" * (len(value) - 2)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_id_number(value: str) -> str:
    """``110101199003077777`` → ``110***********7777``: region prefix and last four only."""
    if not value:
        return ""
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def normalize_bank_card(raw: str) -> str:
    """Return a bank card number as digits (12–19 of them), Luhn check digit verified."""
    value = _SPACES.sub("", str(raw or ""))
    if not re.fullmatch(r"\d{12,19}", value):
        raise ValidationError(_("银行卡号应为12至19位数字"), code="length")
    if not luhn_ok(value):
        raise ValidationError(_("银行卡号校验位错误，请核对"), code="checksum")
    return value


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn (mod 10) check used by bank cards."""
    return bool(luhn.is_valid(digits))


def mask_account(value: str) -> str:
    """An account, card or handle shown with its last four characters only: ``****1234``."""
    if not value:
        return ""
    if len(value) <= 4:
        return "*" * len(value)
    return "****" + value[-4:]
