"""`notifier send --wait` waits for delivery receipts and fails when some came back undelivered."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from notifier import create_app
from notifier.sandbox.client import SandboxClient

from ..conftest import OPERATOR_ENV, notifier_cmd


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def receipts(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Serve this test's notifier where the sandbox's Twilio receipts can reach it."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("NOTIFIER_PUBLIC_URL", url)
    env["NOTIFIER_PUBLIC_URL"] = url
    app = create_app({"TESTING": True})
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield env
    server.shutdown()
    thread.join(5)
    app.extensions["notifier.engine"].dispose()


def _send(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(notifier_cmd("send", "phone-lines-down", "--var", "contacts=vaxel",
                                       "--segment", "staff", "--channels", "sms", "--yes",
                                       "--wait", *extra),
                          env={**os.environ, **env, **OPERATOR_ENV}, capture_output=True, text=True, timeout=180)


def test_wait_exits_1_when_an_sms_comes_back_undelivered(
        receipts: dict[str, str], demo: Any, worker: Any, sandbox: SandboxClient) -> None:
    worker()
    sandbox.fault("sms", "undeliverable", addresses=["+46701740690"])
    result = _send(receipts)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"^sms\s+delivered 2, undelivered 1$", result.stdout, re.MULTILINE), \
        result.stdout


def test_wait_exits_0_once_every_receipt_says_delivered(
        receipts: dict[str, str], demo: Any, worker: Any, sandbox: SandboxClient) -> None:
    worker()
    result = _send(receipts, "--receipts-timeout", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^sms\s+delivered 3$", result.stdout, re.MULTILINE), result.stdout
