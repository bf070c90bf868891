"""Addresses as people type them, made into the one form they are stored and matched in."""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from ..errors import NotifierError
from ..texts import Text, _l

MAX_ADDRESS = 254
MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


class AddressError(NotifierError):
    """An address (phone number, email, chat id) is not usable; says why, translatable."""

    def __init__(self, message: str, **values: Any) -> None:
        self.text = Text(message, values)
        super().__init__(str(self.text))


def normalise_phone(raw: str, countries: Collection[str] | None = None) -> str:
    """Return a mobile number in E.164 (Swedish by default), or raise AddressError.

    With `countries`, only numbers of those countries (ISO codes) are accepted: the public
    sign-up sends a code to the number, and SMS-pumping fraud lives on far-away numbers.
    """
    value = raw.strip()
    if len(value) > 32:
        raise AddressError(_l("%(value)r is not a phone number"), value=value[:32] + "…")
    try:
        num = phonenumbers.parse(value, "SE")
    except phonenumbers.NumberParseException:
        raise AddressError(_l("%(value)r is not a phone number"), value=value) from None
    if not phonenumbers.is_valid_number(num):
        raise AddressError(_l("%(value)r is not a valid phone number"), value=value)
    if phonenumbers.number_type(num) not in MOBILE_TYPES:
        raise AddressError(_l("%(value)r is not a mobile number and cannot receive SMS"),
                           value=value)
    if countries is not None and phonenumbers.region_code_for_number(num) not in countries:
        raise AddressError(_l("%(value)r is not a mobile number from %(countries)s"),
                           value=value, countries=", ".join(sorted(countries)))
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """Return an email address in lower case, or raise AddressError."""
    value = raw.strip()
    if len(value) > MAX_ADDRESS:
        raise AddressError(_l("an email address is at most %(max)d characters"), max=MAX_ADDRESS)
    try:
        return str(validate_email(value, check_deliverability=False).normalized).lower()
    except EmailNotValidError as exc:
        raise AddressError(_l("%(value)r is not a valid email address (%(why)s)"),
                           value=value, why=str(exc)) from None


def normalise_chat_id(raw: str) -> str:
    """Return a Telegram chat id (an integer, negative for groups), or raise AddressError."""
    value = raw.strip()
    if not value.lstrip("-").isdigit() or len(value) > 20:
        raise AddressError(_l("%(value)r is not a Telegram chat id (a number)"), value=value[:40])
    return str(int(value))


NORMALISERS = {"sms": normalise_phone, "email": normalise_email, "telegram": normalise_chat_id}


def normalise(channel: str, raw: str) -> str:
    """Return the stored form of an address on a delivery channel, or raise AddressError."""
    return NORMALISERS[channel](raw)


def search_forms(query: str) -> list[str]:
    """Return the forms a typed search may take in the database: as typed, as a number, lower case."""
    forms = {query.strip(), query.strip().lower()}
    try:
        forms.add(normalise_phone(query))
    except AddressError:
        pass
    return sorted(f for f in forms if f)
