"""The sandbox WSGI app: every provider simulator and the control API in one Flask app."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request

from notifier.config import SANDBOX_CREDENTIALS

from . import control, sendgrid, telegram, twilio, voice
from .callbacks import Courier
from .state import SandboxState

CHANNEL_OF_BLUEPRINT = {"sandbox_twilio": "sms", "sandbox_sendgrid": "email",
                        "sandbox_telegram": "telegram"}


def create_sandbox_app(credentials: Mapping[str, Mapping[str, str]] | None = None,
                       seed: int | None = None) -> Flask:
    """Build the simulator app; it accepts only `credentials` (default: the sandbox ones)."""
    app = Flask(__name__)
    app.config["SANDBOX_CREDENTIALS"] = {**SANDBOX_CREDENTIALS, **(credentials or {})}
    app.json.sort_keys = False  # type: ignore[attr-defined]
    state = SandboxState(seed)
    app.extensions["sandbox"] = state
    app.extensions["sandbox.courier"] = Courier()
    for module in (twilio, sendgrid, telegram, control, voice):
        app.register_blueprint(module.bp)

    @app.after_request
    def count_call(response: Response) -> Response:
        channel = CHANNEL_OF_BLUEPRINT.get(request.blueprint or "")
        if channel is not None:
            state.count_call(channel, response.status_code)
        return response

    return app


def sandbox_state(app: Any) -> SandboxState:
    """Return the in-memory state of a sandbox app (for in-process tests)."""
    return app.extensions["sandbox"]  # type: ignore[no-any-return]
