"""Run the sandbox simulators: in the foreground, or in a thread for tests and benchmarks."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_sandbox_app
from .state import SandboxState


class _QuietHandler(WSGIRequestHandler):
    """Request handler that logs nothing per request (URLs hold bot tokens and addresses)."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs allow

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the access log line."""


def _make(host: str, port: int, app: Flask | None) -> BaseWSGIServer:
    return make_server(host, port, app or create_sandbox_app(), threaded=True,
                       request_handler=_QuietHandler)


def serve(host: str = "127.0.0.1", port: int = 8025, app: Flask | None = None) -> None:
    """Serve the simulators until interrupted."""
    server = _make(host, port, app)
    logging.getLogger(__name__).info(
        "provider sandbox on http://%s:%d (simulators only, nothing real is sent)", host, port)
    try:
        server.serve_forever()
    finally:
        server.server_close()


@dataclass
class SandboxServer:
    """A sandbox running in a background thread."""

    server: BaseWSGIServer
    thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        """Return the root URL, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.server.host}:{self.server.port}"

    @property
    def app(self) -> Flask:
        """Return the simulator app."""
        return self.server.app  # type: ignore[return-value]

    @property
    def state(self) -> SandboxState:
        """Return the in-memory state (messages, faults, counts)."""
        return self.app.extensions["sandbox"]  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_in_thread(host: str = "127.0.0.1", port: int = 0,
                    app: Flask | None = None) -> SandboxServer:
    """Start the simulators on a background thread (port 0 picks a free port)."""
    server = _make(host, port, app)
    # A short poll interval makes stop() quick; tests start and stop servers often.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="sandbox", daemon=True)
    thread.start()
    return SandboxServer(server, thread)
