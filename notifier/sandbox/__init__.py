"""Local simulators of the Twilio, SendGrid and Telegram APIs; nothing real is ever sent."""
from __future__ import annotations

from .app import create_sandbox_app

__all__ = ["create_sandbox_app"]
