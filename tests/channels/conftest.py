"""Fixtures for the channel adapters: the provider sandbox on a free port, reset per test."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from notifier.config import SANDBOX_CREDENTIALS, ProviderSettings
from notifier.sandbox.server import SandboxServer


@pytest.fixture
def make_settings(sandbox_server: SandboxServer) -> Callable[..., ProviderSettings]:
    """Return a factory of sandbox ProviderSettings; keyword overrides replace credentials."""

    def make(name: str, api_url: str | None = None, **credentials: str) -> ProviderSettings:
        creds = {**SANDBOX_CREDENTIALS[name], **credentials}
        return ProviderSettings(name, api_url or sandbox_server.url, True, creds)

    return make


@pytest.fixture
def closed_port_url() -> str:
    """Return a root URL where nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
