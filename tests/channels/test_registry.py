"""The registry builds each delivery channel's adapter from the app's settings."""
from __future__ import annotations

from typing import Any

import pytest

from notifier.channels import ADAPTERS, DELIVERY_CHANNELS, SUBSCRIPTION_CHANNELS, make_adapter
from notifier.channels.base import Message, Result
from notifier.channels.registry import adapter_class
from notifier.config import SANDBOX_CREDENTIALS, ProviderSettings
from notifier.sandbox.client import SandboxClient
from notifier.sandbox.server import SandboxServer

PUBLIC: dict[str, Any] = {"PUBLIC_URL": "https://notifier.example.se", "PUBLIC_URL_EXPLICIT": True}
DEFAULT: dict[str, Any] = {"PUBLIC_URL": "http://127.0.0.1:8000", "PUBLIC_URL_EXPLICIT": False}


@pytest.fixture
def real(sandbox_server: SandboxServer) -> dict[str, ProviderSettings]:
    """Return provider settings as for real providers (credentials set), served by the sandbox."""
    return {name: ProviderSettings(name, sandbox_server.url, False, creds)
            for name, creds in SANDBOX_CREDENTIALS.items()}


@pytest.mark.parametrize("channel", sorted(ADAPTERS))
def test_every_delivery_channel_sends_through_an_adapter_of_its_name(
        channel: str, real: dict[str, ProviderSettings], sandbox: SandboxClient) -> None:
    adapter = make_adapter(channel, real[ADAPTERS[channel].provider], PUBLIC)
    address = {"sms": "+46701234567", "email": "kund@example.se", "telegram": "1001"}[channel]

    [outcome] = adapter.send([Message(1, address, "sv", "Våra 020-nummer är nere.", "Avbrott")])
    adapter.close()

    assert adapter.channel == channel and outcome.result is Result.SENT
    assert [m["to"] for m in sandbox.messages(channel=channel)] == [address]


@pytest.mark.parametrize(("config", "callback"), [
    (PUBLIC, "https://notifier.example.se/webhooks/twilio/status?delivery=1"),
    (DEFAULT, None),  # a real Twilio could not reach 127.0.0.1: ask for no receipts
])
def test_sms_receipts_are_asked_for_at_the_public_url(
        real: dict[str, ProviderSettings], sandbox: SandboxClient, config: dict[str, Any],
        callback: str | None) -> None:
    adapter = make_adapter("sms", real["twilio"], config)

    adapter.send([Message(1, "+46701234567", "sv", "Våra 020-nummer är nere.")])
    adapter.close()

    [received] = sandbox.messages(channel="sms")
    assert received["meta"].get("status_callback") == callback


def test_overrides_replace_the_registered_settings(real: dict[str, ProviderSettings],
                                                   sandbox: SandboxClient) -> None:
    sandbox.fault("telegram", "timeout", seconds=1)
    adapter = make_adapter("telegram", real["telegram"], PUBLIC, concurrency=1, timeout=0.3)

    [outcome] = adapter.send([Message(1, "1001", "sv", "Hej")])
    adapter.close()

    assert (outcome.result, outcome.error_code) == (Result.RETRY, "timeout")


def test_an_unknown_channel_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="choose from sms, email, telegram"):
        adapter_class("banner")


def test_every_subscription_channel_has_an_adapter_and_the_banner_none() -> None:
    assert tuple(ADAPTERS) == SUBSCRIPTION_CHANNELS
    assert DELIVERY_CHANNELS == (*SUBSCRIPTION_CHANNELS, "banner")
