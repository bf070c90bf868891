"""Shared fixtures: a real database, a real Redis-protocol server, the provider sandbox, the app.

Tests reach PostgreSQL and Redis only through NOTIFIER_TEST_DATABASE_URL and
NOTIFIER_TEST_REDIS_URL; without them they use SQLite files and an embedded Valkey.
Production settings (NOTIFIER_DATABASE_URL, NOTIFIER_REDIS_URL, credentials) are removed from
the environment first, so a test run can never touch real data or real providers.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from notifier import create_app, db
from notifier.processes import embedded
from notifier.sandbox.client import SandboxClient
from notifier.sandbox.server import SandboxServer, start_in_thread

ROOT = Path(__file__).resolve().parent.parent
TEST_DB = os.environ.get("NOTIFIER_TEST_DATABASE_URL", "")
TEST_REDIS = os.environ.get("NOTIFIER_TEST_REDIS_URL", "")


def pytest_configure(config: pytest.Config) -> None:
    for name in list(os.environ):
        if name.startswith("NOTIFIER_") and not name.startswith("NOTIFIER_TEST_"):
            del os.environ[name]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Browser tests last: Playwright's sync API keeps an event loop running in the main thread
    # for the rest of the session.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def pytest_report_header(config: pytest.Config) -> str:
    return (f"database: {_redact(TEST_DB) or 'SQLite (per test)'}; "
            f"redis: {_redact(TEST_REDIS) or 'embedded Valkey'}")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redact(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


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


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Return a Redis URL: the CI server's test database, or an embedded Valkey."""
    if TEST_REDIS:
        yield TEST_REDIS
        return
    folder = tmp_path_factory.mktemp("valkey")
    proc = embedded.start(folder)
    yield f"unix://{embedded.socket_path(folder)}"
    if proc is not None:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file per session; tests get copies (migrations run once)."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    db.upgrade(f"sqlite:///{path}")
    return path


def fresh_database_url(tmp_path: Path, revision: str = "head") -> str:
    """Return an empty database (the CI's PostgreSQL schema, or a new SQLite file) at a revision."""
    from alembic import command

    if TEST_DB:
        engine = db.make_engine(TEST_DB)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        url = TEST_DB
    else:
        url = f"sqlite:///{tmp_path / f'at-{revision}.db'}"
        db.make_engine(url).dispose()
    if revision != "base":
        command.upgrade(db.alembic_config(url), revision)
    return url


def _fresh_database(tmp_path: Path, migrated_sqlite: Path) -> str:
    if not TEST_DB:
        target = tmp_path / "notifier.db"
        shutil.copy(migrated_sqlite, target)
        return f"sqlite:///{target}"
    engine = db.make_engine(TEST_DB)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    db.upgrade(TEST_DB)
    return TEST_DB


@pytest.fixture
def env(tmp_path: Path, migrated_sqlite: Path, redis_url: str, sandbox_server: SandboxServer,
        monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Set the NOTIFIER_* environment of one test: its own database, Redis and sandbox."""
    from redis import Redis

    Redis.from_url(redis_url).flushdb()
    values = {
        "NOTIFIER_INSTANCE_DIR": str(tmp_path / "instance"),
        "NOTIFIER_DATABASE_URL": _fresh_database(tmp_path, migrated_sqlite),
        "NOTIFIER_REDIS_URL": redis_url,
        "NOTIFIER_TWILIO_API_URL": sandbox_server.url,
        "NOTIFIER_SENDGRID_API_URL": sandbox_server.url,
        "NOTIFIER_TELEGRAM_API_URL": sandbox_server.url,
        "NOTIFIER_SECRET_KEY": "test-secret-key",
        # A port nobody listens on: the sandbox's delivery receipts must never reach a notifier
        # that happens to run on this machine (say, `make run` on 8000).
        "NOTIFIER_PORT": str(_free_port()),
        "NOTIFIER_SMS_RATE": "200",
        "NOTIFIER_TELEGRAM_RATE": "200",
        "NOTIFIER_LEASE_SECONDS": "5",
        "NOTIFIER_RECONCILE_EVERY": "0.5",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def app(env: dict[str, str]) -> Iterator[Flask]:
    app = create_app({"TESTING": True})
    yield app
    from workers.delivery import close_adapters

    close_adapters(app)
    app.extensions["notifier.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser that prefers English (the console's default is Swedish: ask for it by header)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def demo(app: Flask) -> Any:
    """Seed the demo company (accounts, contact channels, templates, subscribers)."""
    from notifier.processes import demo as demo_data

    with app.app_context(), db.transaction() as s:
        return demo_data.seed(s, "correct-horse-battery")


@pytest.fixture
def registry(app: Flask) -> None:
    """Register the demo company's contact channels, all up."""
    from notifier import contacts
    from notifier.processes import demo as demo_data

    with app.app_context(), db.transaction() as s:
        for definition in demo_data.CONTACTS:
            contacts.register(s, definition)


@pytest.fixture
def approved(app: Flask, registry: None) -> None:
    """Import the template library as the demo editor and approve it as the approver (four-eyes)."""
    from notifier import versions
    from notifier.models import TemplateVersion, User
    from notifier.processes import demo as demo_data

    with app.app_context(), db.transaction() as s:
        approver = User(email="approver@solvik.example", role="approver", password_hash="!")
        s.add(approver)
        s.flush()
        versions.import_dir(s, demo_data.TEMPLATES_DIR, "user:editor@solvik.example")
        for version in s.scalars(select(TemplateVersion)).all():
            versions.approve(s, version, approver)


class AuthActions:
    """Log in and out through the real login form (CSRF token included)."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def csrf(self, path: str = "/login") -> str:
        import re

        page = self._client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, email: str, password: str = "correct-horse-battery") -> Any:
        return self._client.post("/login", data={"email": email, "password": password,
                                                 "csrf_token": self.csrf()})

    def logout(self) -> Any:
        return self._client.post("/logout", data={"csrf_token": self.csrf("/")})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def notifier_cmd(*args: str) -> list[str]:
    """Return the argv of a `notifier` command run as its own process."""
    return [sys.executable, "-m", "notifier", *args]


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start real `notifier worker` processes; stop them at the end of the test."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        with open(tmp_path / f"worker-{len(procs) + 1}.log", "ab") as log:
            proc = subprocess.Popen(notifier_cmd("worker", *args), env={**os.environ, **env},
                                    stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until(predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    """Poll until predicate returns something truthy; fail with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


ADMIN_ENV = {"NOTIFIER_AS": "admin@solvik.example", "NOTIFIER_PASSWORD": "correct-horse-battery"}
# A script acting as the demo's operator (the command line signs in as a named account).
OPERATOR_ENV = {"NOTIFIER_AS": "operator@solvik.example",
                "NOTIFIER_PASSWORD": "correct-horse-battery"}


@pytest.fixture
def cli_admin(app: Flask) -> dict[str, str]:
    """Make sure the demo's admin account exists; return the environment a command signs in with."""
    from sqlalchemy import select

    from notifier import accounts
    from notifier.models import User

    with app.app_context(), db.transaction() as s:
        if s.scalar(select(User).where(User.email == ADMIN_ENV["NOTIFIER_AS"])) is None:
            accounts.create_user(s, ADMIN_ENV["NOTIFIER_AS"], "admin", ADMIN_ENV["NOTIFIER_PASSWORD"])
    return ADMIN_ENV
