"""One adapter per delivery channel; see base.py for the shared interface."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from notifier.config import ProviderSettings

from .base import ChannelAdapter


def make_adapter(channel: str, settings: ProviderSettings, config: Mapping[str, Any]) -> ChannelAdapter:
    """Build the adapter of a delivery channel from the app's settings."""
    if channel == "sms":
        from .sms import SmsAdapter

        # Receipts need an address the provider can reach: one set on purpose, or, with the
        # sandbox on this machine, the local console (so the demo shows "delivered" too).
        reachable = config.get("PUBLIC_URL_EXPLICIT") or settings.sandbox
        callback = f"{config['PUBLIC_URL']}/webhooks/twilio/status" if reachable else None
        return SmsAdapter(settings, status_callback_url=callback)
    if channel == "email":
        from .email import EmailAdapter

        return EmailAdapter(settings)
    if channel == "telegram":
        from .telegram import TelegramAdapter

        return TelegramAdapter(settings)
    raise ValueError(f"no adapter for delivery channel {channel!r}")
