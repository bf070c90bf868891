"""Fixtures for driving banner.js in Debian's Chromium against a local host page."""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
BANNER_JS = Path(__file__).resolve().parents[2] / "notifier" / "static" / "banner.js"
STRICT_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Lets injected inline handlers run, so a markup injection in the banner would show.
LAX_CSP = "default-src 'none'; script-src 'self' 'unsafe-inline'; connect-src 'self'; img-src *"
HOST_MAIN = '<main id="content"><h1>Host page</h1><p>Nothing to see here.</p></main>'


@dataclass
class Endpoint:
    """What the fake server answers for banner.json."""

    body: bytes = b'{"version": 1, "updated": "2026-11-28T08:18:00Z", "banners": []}'
    status: int = 200
    content_type: str = "application/json"
    hang: bool = False
    hits: int = 0
    abandoned: int = 0  # hanging requests the browser gave up on


@dataclass
class Site:
    """A host page, banner.js and a banner.json that one test controls."""

    base: str
    release: threading.Event
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    pages: dict[str, tuple[str, str]] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget every page and answer, as at the start of a test."""
        self.release.set()
        self.release = threading.Event()
        self.endpoints = {"/banner.json": Endpoint()}
        self.pages = {}

    @property
    def json(self) -> Endpoint:
        """The default banner.json endpoint."""
        return self.endpoints["/banner.json"]

    def publish(self, *banners: dict[str, Any], path: str = "/banner.json") -> None:
        """Serve a valid document holding these banners."""
        doc = {"version": 1, "updated": "2026-11-28T08:18:00Z", "banners": list(banners)}
        self.endpoints.setdefault(path, Endpoint())
        self.endpoints[path].body = json.dumps(doc).encode()
        self.endpoints[path].status = 200

    def page(
        self,
        lang: str = "sv",
        attrs: dict[str, str] | None = None,
        csp: str = STRICT_CSP,
        main: str = HOST_MAIN,
        path: str = "/",
        script: str = "/banner.js",
    ) -> str:
        """Register a host page embedding banner.js and return its URL.

        `script` may carry more attributes after the URL, as in
        `'http://localhost:1/banner.js" integrity="sha384-..."'`.
        """
        data = "".join(f' data-{k}="{v}"' for k, v in (attrs or {}).items())
        html = (
            f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<title>Host page</title><script async src="{script}"{data}></script>'
            f"</head><body>{main}</body></html>"
        )
        self.pages[path] = (html, csp)
        return self.base + path


def _make_handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in site.pages:
                html, csp = site.pages[path]
                self._send(200, "text/html; charset=utf-8", html.encode(), csp)
            elif path == "/banner.js":
                self._send(200, "text/javascript; charset=utf-8", BANNER_JS.read_bytes())
            elif path in site.endpoints:
                self._answer(site.endpoints[path])
            elif path == "/favicon.ico":
                self._send(204, "image/x-icon", b"")
            else:
                self._send(404, "text/plain", b"not found")

        def _answer(self, ep: Endpoint) -> None:
            ep.hits += 1
            if ep.hang:
                while not site.release.wait(0.05):
                    if self._client_gone():
                        ep.abandoned += 1
                        return
                return
            self._send(ep.status, ep.content_type, ep.body)

        def _client_gone(self) -> bool:
            readable, _, _ = select.select([self.connection], [], [], 0)
            try:
                return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
            except OSError:
                return True

        def _send(self, status: int, ctype: str, body: bytes, csp: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Access-Control-Allow-Origin", "*")  # as the notifier does
            if csp:
                self.send_header("Content-Security-Policy", csp)
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


def _install_chromium() -> None:
    """Install Debian's chromium package; fail loudly when that is impossible."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(
            f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get): "
            "run `apt-get update && apt-get install -y chromium` as root.",
            pytrace=False,
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.fail(
                f"`{' '.join(cmd)}` failed ({done.returncode}); the browser tests need "
                f"Debian's chromium at {CHROMIUM}.\n{done.stderr[-2000:]}",
                pytrace=False,
            )
    if not CHROMIUM.exists():
        pytest.fail(f"apt-get installed chromium but {CHROMIUM} is still missing", pytrace=False)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, installed with apt-get when missing."""
    if not CHROMIUM.exists():
        _install_chromium()
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium_path: Path) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(chromium_path),
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def _server() -> Iterator[Site]:
    site = Site(base="", release=threading.Event())
    site.reset()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(site))
    server.daemon_threads = True
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def site(_server: Site) -> Iterator[Site]:
    """The local web server, fresh for this test."""
    _server.reset()
    yield _server
    _server.release.set()


@dataclass
class Problems:
    """Console errors and warnings and uncaught page errors seen during a test.

    A test may name messages the browser itself logs (say, Chromium's "Failed to load
    resource" for an HTTP 500); those land in `expected`, never in `console`.
    """

    allow: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    page: list[str] = field(default_factory=list)

    def record(self, msg: ConsoleMessage) -> None:
        """File one console message as expected or as a problem."""
        if msg.type not in ("error", "warning", "assert"):
            return
        if any(fragment in msg.text for fragment in self.allow):
            self.expected.append(msg.text)
        else:
            self.console.append(f"{msg.type}: {msg.text}")


@pytest.fixture
def problems() -> Problems:
    return Problems()


# Counts every console call made by scripts in the page, which the browser's own
# network and CSP log lines never go through.
COUNT_CONSOLE_CALLS = """
window.__consoleCalls = 0;
for (const name of ['error', 'warn', 'log', 'info', 'debug', 'assert', 'trace']) {
  const original = console[name];
  console[name] = function () { window.__consoleCalls++; return original.apply(this, arguments); };
}
"""


@pytest.fixture
def page(browser: Browser, problems: Problems) -> Iterator[Page]:
    """A page in a fresh context (own localStorage) that records every error."""
    context = browser.new_context()
    context.set_default_timeout(5000)
    context.add_init_script(COUNT_CONSOLE_CALLS)
    page = context.new_page()
    page.on("console", problems.record)
    page.on("pageerror", lambda exc: problems.page.append(str(exc)))
    yield page
    calls = page.evaluate("window.__consoleCalls")
    context.close()
    if calls:
        problems.console.append(f"{calls} console call(s) from page scripts")
    if problems.console or problems.page:
        pytest.fail(f"console: {problems.console}\npage errors: {problems.page}", pytrace=False)


@pytest.fixture
def live(app: Any) -> Iterator[str]:
    """Serve the real notifier on a free local port (another origin than the `site` pages)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"
    server.shutdown()
    thread.join(5)
