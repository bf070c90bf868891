"""The simulators' own control API: inspect messages, inject faults, read call counts."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from .callbacks import Courier, EventWebhook
from .state import SandboxFaultError, SandboxState

bp = Blueprint("sandbox_control", __name__, url_prefix="/sandbox")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Provider sandbox</title></head>
<body>
<h1>Provider sandbox &mdash; nothing real is sent</h1>
<p>This server simulates the Twilio, SendGrid and Telegram APIs for the notifier.
No SMS, email or Telegram message leaves this machine: every accepted message is only
recorded in memory, and is lost when the server stops.</p>
<ul>
<li><a href="/sandbox/messages">Recorded messages</a> (JSON)</li>
<li><a href="/sandbox/faults">Injected faults</a> (JSON)</li>
<li><a href="/sandbox/stats">Call counts</a> (JSON)</li>
</ul>
</body></html>
"""


def _state() -> SandboxState:
    return current_app.extensions["sandbox"]  # type: ignore[no-any-return]


def _courier() -> Courier:
    return current_app.extensions["sandbox.courier"]  # type: ignore[no-any-return]


@bp.get("/")
def index() -> Response:
    """Say plainly what this server is."""
    return Response(PAGE, mimetype="text/html")


@bp.get("/messages")
def messages() -> Response:
    """List recorded messages, oldest first, optionally for one channel or recipient."""
    found = _state().messages(request.args.get("channel"), request.args.get("to"))
    return jsonify({"messages": [r.to_json() for r in found], "sandbox": True})


@bp.delete("/messages")
def reset() -> Response:
    """Forget recorded messages, call counts, callbacks made and the SendGrid event webhook."""
    _state().reset()
    _courier().reset()
    return jsonify({"ok": True})


@bp.get("/faults")
def faults() -> Response:
    """List injected faults."""
    return jsonify({"faults": [vars(f) for f in _state().faults]})


@bp.post("/faults")
def add_fault() -> Response | tuple[Response, int]:
    """Inject a fault."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"error": "send a JSON object describing the fault"}), 400
    try:
        fault = _state().add_fault(body)
    except SandboxFaultError as exc:
        return jsonify({"error": str(exc)}), 400
    return jsonify(vars(fault)), 201


@bp.delete("/faults")
def clear_faults() -> Response:
    """Remove every injected fault."""
    _state().clear_faults()
    return jsonify({"ok": True})


@bp.get("/stats")
def stats() -> Response:
    """Return call counts per channel and HTTP status."""
    return jsonify(_state().stats())


@bp.get("/webhooks")
def webhooks() -> Response:
    """Return the Telegram webhooks set through setWebhook, per bot token."""
    return jsonify({"webhooks": dict(_state().webhooks)})


@bp.post("/telegram/updates")
def telegram_update() -> Response | tuple[Response, int]:
    """Queue a Telegram update for getUpdates, as if a person wrote to the bot."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not any(
            k in body for k in ("message", "callback_query", "my_chat_member")):
        return jsonify({"error": "send a Telegram Update object (message, callback_query or "
                                 "my_chat_member)"}), 400
    return jsonify({"update_id": _state().push_update(body)}), 201


@bp.get("/callbacks")
def callbacks() -> Response:
    """List the callbacks made (Twilio status callbacks, SendGrid events) and their answers."""
    return jsonify({"callbacks": list(_courier().log)})


def _event_webhook_json(hook: EventWebhook | None) -> Response:
    return jsonify({"url": hook.url if hook else None,
                    "public_key": hook.public_key() if hook else None})


@bp.get("/sendgrid/event-webhook")
def event_webhook() -> Response:
    """Return the SendGrid event webhook's URL and verification key (null when unset)."""
    return _event_webhook_json(_courier().event_webhook)


@bp.put("/sendgrid/event-webhook")
def set_event_webhook() -> Response | tuple[Response, int]:
    """Post SendGrid events to a URL, signed with a fresh key; return its verification key."""
    body = request.get_json(silent=True)
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return jsonify({"error": 'send {"url": "http(s)://..."}'}), 400
    _courier().event_webhook = EventWebhook.generate(url)
    return _event_webhook_json(_courier().event_webhook)


@bp.delete("/sendgrid/event-webhook")
def delete_event_webhook() -> Response:
    """Stop posting SendGrid events."""
    _courier().event_webhook = None
    return jsonify({"ok": True})
