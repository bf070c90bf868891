"""How a notice reaches people: one adapter per delivery channel, alike (see base.py)."""
from __future__ import annotations

# A subscription is an address on one of these; each delivery to it is one provider call.
SUBSCRIPTION_CHANNELS = ("sms", "email", "telegram")
# How a notice travels: the above, and the banner (one publication per notice, no subscribers).
# A template has a variant for each.
DELIVERY_CHANNELS = SUBSCRIPTION_CHANNELS + ("banner",)

from .registry import ADAPTERS, make_adapter

__all__ = ["ADAPTERS", "DELIVERY_CHANNELS", "SUBSCRIPTION_CHANNELS", "make_adapter"]
