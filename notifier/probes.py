"""Harmless provider calls that tell whether a delivery channel could send right now.

Twilio: fetch the account (its status must be active); SendGrid: list the API key's scopes
(mail.send must be one); Telegram: getMe. Nothing is sent, and the built-in sandbox answers all
three, so the demo is ready too. Each call has a short timeout: the readiness report must answer
even when a provider does not.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from .config import ProviderSettings

TIMEOUT = 5.0
CHANNEL_OF = {"twilio": "sms", "sendgrid": "email", "telegram": "telegram"}


@dataclass(frozen=True)
class Probe:
    """What one provider answered."""

    provider: str
    ok: bool
    detail: str  # never a credential


def twilio(p: ProviderSettings) -> Probe:
    """Fetch the Twilio account through the SDK (rebased like the SMS adapter)."""
    from twilio.base.exceptions import TwilioException
    from twilio.rest import Client

    from .channels.transports.twilio import TwilioTransport

    sid = p.credentials["account_sid"]
    client = Client(sid, p.credentials["auth_token"],
                    http_client=TwilioTransport(p.api_url, timeout=TIMEOUT))
    try:
        account = client.api.v2010.accounts(sid).fetch()
    except (TwilioException, OSError) as exc:
        return Probe("twilio", False, f"account fetch failed: {type(exc).__name__} "
                                      f"{getattr(exc, 'status', '')}".strip())
    if account.status != "active":
        return Probe("twilio", False, f"account status is {account.status}")
    return Probe("twilio", True, "account active")


def sendgrid(p: ProviderSettings) -> Probe:
    """List the SendGrid API key's scopes; mail.send must be one."""
    from python_http_client.exceptions import HTTPError
    from sendgrid import SendGridAPIClient

    client = SendGridAPIClient(p.credentials["api_key"], host=p.api_url or "https://api.sendgrid.com")
    client.client.timeout = TIMEOUT
    try:
        body = json.loads(client.client.scopes.get().body or b"{}")
    except (HTTPError, OSError, ValueError) as exc:
        return Probe("sendgrid", False, f"scopes call failed: {type(exc).__name__} "
                                        f"{getattr(exc, 'status_code', '')}".strip())
    if "mail.send" not in body.get("scopes", []):
        return Probe("sendgrid", False, "the API key lacks the mail.send scope")
    return Probe("sendgrid", True, "API key may send mail")


def telegram(p: ProviderSettings) -> Probe:
    """Call getMe with the bot token (the URL holds the token: never logged)."""
    url = f"{p.api_url or 'https://api.telegram.org'}/bot{p.credentials['token']}/getMe"
    try:
        resp = httpx.get(url, timeout=TIMEOUT)
        body = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        return Probe("telegram", False, f"getMe failed: {type(exc).__name__}")
    if not body.get("ok"):
        return Probe("telegram", False, f"getMe refused: HTTP {resp.status_code}")
    return Probe("telegram", True, f"bot @{body['result'].get('username', '?')}")


def probe(p: ProviderSettings) -> Probe:
    """Ask one provider whether it would take messages now."""
    return {"twilio": twilio, "sendgrid": sendgrid, "telegram": telegram}[p.name](p)
