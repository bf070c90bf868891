"""Addresses as people type them, in the one form they are stored and sent to."""
from __future__ import annotations

import pytest

from notifier import addresses
from notifier.addresses import AddressError


@pytest.mark.parametrize("typed", ["070-123 45 67", "+46 70 123 45 67", "0046701234567",
                                   "0701234567", "070 123 45 67", "+46701234567"])
def test_every_swedish_way_of_writing_a_mobile_number_gives_the_same_e164(typed: str) -> None:
    assert addresses.normalise_phone(typed) == "+46701234567"


@pytest.mark.parametrize("landline", ["08-123 45 67", "020-12 34 56", "031-123 45 67"])
def test_a_number_that_cannot_receive_sms_is_refused_with_a_clear_message(landline: str) -> None:
    with pytest.raises(AddressError, match="not a mobile number and cannot receive SMS"):
        addresses.normalise_phone(landline)


def test_text_that_is_not_a_phone_number_is_refused() -> None:
    with pytest.raises(AddressError, match="not a phone number"):
        addresses.normalise_phone("ring mig")


def test_an_email_address_is_stored_with_its_domain_in_lower_case() -> None:
    assert addresses.normalise_email("Kund@Example.SE") == "Kund@example.se"


@pytest.mark.parametrize("typed", ["kundservice@", "kund@@example.se", "kund example.se"])
def test_text_that_is_not_an_email_address_is_refused(typed: str) -> None:
    with pytest.raises(AddressError, match="is not a valid email address"):
        addresses.normalise_email(typed)


@pytest.mark.parametrize(("typed", "stored"), [("123456", "123456"), ("-100200", "-100200")])
def test_a_telegram_chat_id_is_a_number(typed: str, stored: str) -> None:
    assert addresses.normalise_chat_id(typed) == stored
    with pytest.raises(AddressError, match="is not a Telegram chat id"):
        addresses.normalise_chat_id("@kund")
