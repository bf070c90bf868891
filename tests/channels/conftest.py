"""Fixtures for the channel adapters: settings that point at the provider sandbox."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from notifier.channels.base import AdapterSettings
from notifier.config import SANDBOX_CREDENTIALS, ProviderSettings
from notifier.sandbox.server import SandboxServer

FIELDS = {f.name for f in dataclasses.fields(AdapterSettings)} - {"provider"}


def settings(name: str, api_url: str, **overrides: Any) -> AdapterSettings:
    """Return adapter settings for a provider; overrides are AdapterSettings fields or credentials."""
    fields = {k: v for k, v in overrides.items() if k in FIELDS}
    creds = {**SANDBOX_CREDENTIALS[name], **{k: v for k, v in overrides.items() if k not in FIELDS}}
    return AdapterSettings(ProviderSettings(name, api_url, True, creds), **fields)


@pytest.fixture
def make_settings(sandbox_server: SandboxServer) -> Callable[..., AdapterSettings]:
    """Return a factory of sandbox AdapterSettings (keyword overrides: fields or credentials)."""

    def make(name: str, api_url: str | None = None, **overrides: Any) -> AdapterSettings:
        return settings(name, api_url or sandbox_server.url, **overrides)

    return make


@pytest.fixture
def closed_port_url() -> str:
    """Return a root URL where nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
