"""The adapter of each delivery channel, and how it is built from the app's settings."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from notifier.config import ProviderSettings

from .base import AdapterSettings, ChannelAdapter


@dataclass(frozen=True)
class Registration:
    """How one delivery channel reaches its provider."""

    adapter: str                # "module:Class", imported on first use (see below)
    provider: str               # key of the provider's settings in config PROVIDERS
    concurrency: int            # provider calls in flight at once
    callback_path: str | None   # where the provider reports delivery, on NOTIFIER_PUBLIC_URL


# Classes by name, not imported here: a web process or a CLI command that never sends would
# otherwise load all three provider SDKs (about a third more start-up time).
ADAPTERS: dict[str, Registration] = {
    "sms": Registration("notifier.channels.sms:SmsAdapter", "twilio", 8,
                        "/webhooks/twilio/status"),
    "email": Registration("notifier.channels.email:EmailAdapter", "sendgrid", 1, None),
    "telegram": Registration("notifier.channels.telegram:TelegramAdapter", "telegram", 25, None),
}


AdapterClass = Callable[[AdapterSettings], ChannelAdapter]


def adapter_class(channel: str) -> AdapterClass:
    """Return the adapter class of a delivery channel."""
    try:
        module, name = ADAPTERS[channel].adapter.split(":")
    except KeyError:
        raise ValueError(f"no adapter for delivery channel {channel!r}; "
                         f"choose from {', '.join(ADAPTERS)}") from None
    return cast(AdapterClass, getattr(importlib.import_module(module), name))


def make_adapter(channel: str, settings: ProviderSettings, config: Mapping[str, Any],
                 **overrides: Any) -> ChannelAdapter:
    """Build the adapter of a delivery channel from the app's settings (overrides: AdapterSettings fields)."""
    cls = adapter_class(channel)
    entry = ADAPTERS[channel]
    # Receipts need an address the provider can reach: one set on purpose, or, with the
    # sandbox on this machine, the local console (so the demo shows "delivered" too).
    reachable = config.get("PUBLIC_URL_EXPLICIT") or settings.sandbox
    callback = f"{config['PUBLIC_URL']}{entry.callback_path}" \
        if reachable and entry.callback_path else None
    fields = {"callback_url": callback, "concurrency": entry.concurrency, **overrides}
    return cls(AdapterSettings(settings, **fields))
