"""Why a delivery did not reach its recipient, in plain words, from the provider's code.

The adapters and receipts keep the provider's own code (Twilio's 21211, SendGrid's 5.1.1,
Telegram's 403) and a scrubbed text; an operator reads these sentences instead.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

# (delivery channel, provider code) -> what happened, as an operator would say it.
BY_CODE: dict[tuple[str, str], Any] = {
    ("sms", "21211"): _l("Not a valid phone number"),
    ("sms", "21408"): _l("The SMS provider may not send to that country"),
    ("sms", "21610"): _l("The customer has replied STOP to our SMS"),
    ("sms", "21612"): _l("The number cannot receive SMS from us"),
    ("sms", "21614"): _l("Not a mobile number: a landline cannot get SMS"),
    ("sms", "30003"): _l("The phone was switched off or out of reach"),
    ("sms", "30004"): _l("The recipient's operator blocked the message"),
    ("sms", "30005"): _l("Unknown or inactive number"),
    ("sms", "30006"): _l("A landline, or an operator that does not take SMS"),
    ("sms", "30007"): _l("Filtered as spam by the recipient's operator"),
    ("sms", "30008"): _l("Not delivered, for a reason the operator did not give"),
    ("email", "invalid_address"): _l("Not a valid email address"),
    ("email", "5.1.1"): _l("The email address does not exist (bounced)"),
    ("email", "bounce"): _l("The email bounced"),
    ("email", "dropped"): _l("SendGrid did not send it (the address bounced or unsubscribed before)"),
    ("telegram", "403"): _l("The customer has blocked the Telegram bot"),
    ("telegram", "400"): _l("The Telegram chat no longer exists"),
}
UNSUBSCRIBED = _l("The customer has unsubscribed from our emails")
DEADLINE = _l("The provider kept failing until the notice's delivery deadline")
# What a delivery's status says when no code explains it better.
BY_STATUS: dict[str, Any] = {
    "failed": _l("The provider refused it"),
    "undelivered": _l("Sent, but the provider reports it was not delivered"),
    "skipped": _l("Not sent: the customer opted out or blocked us"),
    "cancelled": _l("Not sent: cancelled or replaced by a later notice"),
    "retry_wait": _l("Waiting for the provider to accept it again"),
}


def explain(channel: str, status: str, code: str | None, error: str | None = None) -> str:
    """Say in plain words why one delivery did not reach its recipient."""
    if channel == "email" and error and "Unsubscribed" in error:
        return str(UNSUBSCRIBED)
    if error and "delivery deadline" in error:
        return str(DEADLINE)
    if code and (channel, code) in BY_CODE:
        return str(BY_CODE[channel, code])
    if channel == "email" and code and code.startswith("5."):
        return str(BY_CODE["email", "bounce"])
    return str(BY_STATUS.get(status, _l("Not delivered")))
