"""Addresses people are reached at, each in one normal form: E.164 numbers, email, chat ids."""
from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from .errors import NotifierError
from .texts import Text, _l

MAX_ADDRESS = 254
MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
# A Swedish number in one of the ways people type one: +46 / 0046 / 0, then digits, spaces, dashes.
SWEDISH = re.compile(r"^(?:\+46|0046|0)[ -]?([1-9][\d -]{5,16})$")
# An unquoted ("dot-atom") ASCII local part: what almost every address has before the @.
PLAIN_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


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
    num = _parse_phone(value)
    kind = phonenumbers.number_type(num)  # UNKNOWN exactly when is_valid_number() is False
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        raise AddressError(_l("%(value)r is not a valid phone number"), value=value)
    if kind not in MOBILE_TYPES:
        raise AddressError(_l("%(value)r is not a mobile number and cannot receive SMS"),
                           value=value)
    if countries is not None and phonenumbers.region_code_for_number(num) not in countries:
        raise AddressError(_l("%(value)r is not a mobile number from %(countries)s"),
                           value=value, countries=", ".join(sorted(countries)))
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def _parse_phone(value: str) -> phonenumbers.PhoneNumber:
    """Read a typed number; Swedish forms are built from their digits, anything else is parsed.

    An import validates a number per row, and phonenumbers' general parser costs most of that;
    a number typed the Swedish way needs no parser to find its digits. Whether it is valid and
    mobile is still decided by the library's own metadata (number_type).
    """
    swedish = SWEDISH.match(value)
    if swedish:
        return phonenumbers.PhoneNumber(country_code=46, national_number=int(
            swedish.group(1).replace(" ", "").replace("-", "")))
    try:
        return phonenumbers.parse(value, "SE")
    except phonenumbers.NumberParseException:
        raise AddressError(_l("%(value)r is not a phone number"), value=value) from None


def normalise_email(raw: str) -> str:
    """Return an email address with its domain in lower case, or raise AddressError."""
    value = raw.strip()
    if len(value) > MAX_ADDRESS:
        raise AddressError(_l("an email address is at most %(max)d characters"), max=MAX_ADDRESS)
    local, at, domain = value.rpartition("@")
    if at and len(local) <= 64 and PLAIN_LOCAL.match(local):
        domain_or_error = _domain(domain)
        if isinstance(domain_or_error, str):
            return f"{local}@{domain_or_error}"
    try:
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise AddressError(_l("%(value)r is not a valid email address (%(why)s)"),
                           value=value, why=str(exc)) from None


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str | None:
    """Return a domain as email-validator normalises it, or None; cached, as domains repeat.

    Checking the domain is most of email-validator's work, and a list of customers has few
    domains; a plain local part needs no more than the pattern above.
    """
    try:
        return str(validate_email(f"x@{domain}", check_deliverability=False).domain)
    except EmailNotValidError:
        return None


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
