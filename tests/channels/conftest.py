"""Fixtures for the channel adapters: the provider sandbox on a free port, reset per test."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from notifier.config import SANDBOX_CREDENTIALS, ProviderSettings
from notifier.sandbox.client import SandboxClient
from notifier.sandbox.server import SandboxServer, start_in_thread


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = start_in_thread()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sandbox_client(sandbox_server: SandboxServer) -> Iterator[SandboxClient]:
    client = SandboxClient(sandbox_server.url)
    yield client
    client.close()


@pytest.fixture
def sandbox(sandbox_client: SandboxClient) -> Iterator[SandboxClient]:
    """Return the control-API client, with no messages, counts or faults left over."""
    sandbox_client.reset()
    yield sandbox_client
    sandbox_client.reset()


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
