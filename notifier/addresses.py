"""Addresses people are reached at, each in one normal form: E.164 numbers, email, chat ids."""
from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from .errors import NotifierError


class AddressError(NotifierError):
    """An address (phone number, email, chat id) is not usable."""


def normalise_phone(raw: str) -> str:
    """Return a Swedish-default mobile number in E.164, or raise AddressError."""
    try:
        num = phonenumbers.parse(raw, "SE")
    except phonenumbers.NumberParseException:
        raise AddressError(f"{raw!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(num):
        raise AddressError(f"{raw!r} is not a valid phone number")
    kind = phonenumbers.number_type(num)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise AddressError(f"{raw!r} is not a mobile number and cannot receive SMS")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """Return a normalised email address, or raise AddressError."""
    try:
        return str(validate_email(raw, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise AddressError(f"{raw!r} is not a valid email address ({exc})") from None


def normalise_chat_id(raw: str) -> str:
    """Return a Telegram chat id (an integer, negative for groups), or raise AddressError."""
    value = raw.strip()
    if not value.lstrip("-").isdigit():
        raise AddressError(f"{raw!r} is not a Telegram chat id (a number)")
    return str(int(value))


# Delivery channel -> the normaliser of its subscriptions' addresses.
NORMALISERS = {"sms": normalise_phone, "email": normalise_email, "telegram": normalise_chat_id}
