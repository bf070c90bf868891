"""Provider callbacks: delivery receipts and opt-outs (what customers write: web/inbound.py).

Every endpoint authenticates its caller before reading anything (Twilio's HMAC signature,
SendGrid's ECDSA signature, Telegram's secret token) and is idempotent: each event is recorded
in `webhook_event`, so a replay or a provider's retry has no effect.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from .. import receipts
from ..models import DeliveryStatus
from ..receipts import Receipt

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

TWILIO_STATUS = {"queued": DeliveryStatus.SENT, "accepted": DeliveryStatus.SENT,
                 "sending": DeliveryStatus.SENT, "sent": DeliveryStatus.SENT,
                 "delivered": DeliveryStatus.DELIVERED, "read": DeliveryStatus.DELIVERED,
                 "undelivered": DeliveryStatus.UNDELIVERED, "failed": DeliveryStatus.UNDELIVERED}
# Twilio's documented delivery errors; texts are ours, Twilio's own may hold the number.
TWILIO_ERRORS = {"21610": "the recipient replied STOP", "30003": "unreachable handset",
                 "30004": "message blocked", "30005": "unknown or inactive number",
                 "30006": "landline or unreachable carrier", "30007": "filtered by the carrier",
                 "30008": "unknown error"}
TWILIO_OPTED_OUT = {"21610"}
TWILIO_BOUNCED = {"30004", "30005", "30006"}
SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
SENDGRID_MAX_AGE = 300
SENDGRID_OPT_OUT_EVENTS = {"unsubscribe", "group_unsubscribe", "spamreport"}
SENDGRID_OPT_OUT_DROPS = {"Unsubscribed Address", "Spam Reporting Address"}



def init_app(app: Flask) -> None:
    """Serve the webhooks; providers sign their calls, so the console's CSRF check is off here."""
    from .auth import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)


@bp.before_request
def live_provider_only() -> tuple[Response, int] | None:
    """In a live deployment, refuse the webhooks of a provider that runs on the sandbox.

    The sandbox's credentials are published (they are in this code), so a provider without
    real ones would accept anyone's callbacks: an opt-out signed with the sandbox token.
    The sandbox demo (every provider sandboxed) keeps its webhooks.
    """
    provider = (request.endpoint or "").split(".", 1)[-1].split("_")[0]
    settings = current_app.config["PROVIDERS"].get(provider)
    if current_app.config["SANDBOX"] or settings is None or not settings.sandbox:
        return None
    return refuse(f"{provider} has no real credentials in this live deployment, so its "
                   f"webhooks are refused: set NOTIFIER_{provider.upper()}_* or stop pointing "
                   f"{provider} at this URL", 403)


def refuse(why: str, status: int = 403) -> tuple[Response, int]:
    """Refuse a call, saying why (and log the reason, which names no person)."""
    log.warning("webhook refused (%d): %s", status, why)
    return jsonify({"error": why}), status


def same(given: str, expected: str) -> bool:
    """Compare secrets in constant time."""
    return hmac.compare_digest(given.encode(), expected.encode())


# --- Twilio ------------------------------------------------------------------------------------

TWILIO_UNSIGNED = ("X-Twilio-Signature is missing or does not match NOTIFIER_PUBLIC_URL and the "
                   "Twilio auth token")


def twilio_signed(path: str) -> bool:
    """Check X-Twilio-Signature against the URL Twilio was given, not the one the proxy shows."""
    token = current_app.config["PROVIDERS"]["twilio"].credentials.get("auth_token", "")
    signature = request.headers.get("X-Twilio-Signature", "")
    query = request.query_string.decode("latin-1")
    url = current_app.config["PUBLIC_URL"] + path + (f"?{query}" if query else "")
    return bool(token and signature) and RequestValidator(token).validate(
        url, request.form, signature)


def _twilio_receipt(sid: str, status: DeliveryStatus, code: str) -> Receipt:
    raw = request.args.get("delivery", "")
    error = f"Twilio {code}: {TWILIO_ERRORS.get(code, 'not delivered')}" if code else None
    # The To number must match too: a callback meant for another deployment changes nothing.
    return Receipt("sms", status, sid, int(raw) if raw.isdigit() else None,
                   address=request.form.get("To") or None, error_code=code or None,
                   error=error if status is DeliveryStatus.UNDELIVERED else None)


def _apply_twilio(s: Session, r: Receipt) -> int | None:
    moved = receipts.apply_receipt(s, r)
    found = receipts.find(s, r)
    if found is not None and r.status is DeliveryStatus.UNDELIVERED:
        mark = "opted_out" if r.error_code in TWILIO_OPTED_OUT else \
            "bounced" if r.error_code in TWILIO_BOUNCED else None
        if mark:
            receipts.mark_address(s, found[0], found[1], mark, r.error)
    return moved


@bp.post("/twilio/status")
def twilio_status() -> Response | tuple[Response, int]:
    """Record a Twilio status callback: sent, delivered or undelivered (with its error code)."""
    if not twilio_signed("/webhooks/twilio/status"):
        return refuse(TWILIO_UNSIGNED)
    sid = request.form.get("MessageSid", "")
    raw = request.form.get("MessageStatus", "")
    if not sid or not raw:
        return refuse("MessageSid and MessageStatus are required", 400)
    status = TWILIO_STATUS.get(raw)
    receipt = None if status is None else _twilio_receipt(sid, status,
                                                          request.form.get("ErrorCode", ""))
    receipts.once("twilio", f"{sid}:{raw}",
                  lambda s: _apply_twilio(s, receipt) if receipt else None)
    return Response(status=204)


# --- SendGrid ----------------------------------------------------------------------------------

def _sendgrid_problem() -> str | None:
    """Say why the request is not SendGrid's signed event webhook, or None when it is."""
    key = current_app.config.get("SENDGRID_WEBHOOK_PUBLIC_KEY")
    signature = request.headers.get(SENDGRID_SIGNATURE, "")
    stamp = request.headers.get(SENDGRID_TIMESTAMP, "")
    if not key:
        return "NOTIFIER_SENDGRID_WEBHOOK_PUBLIC_KEY is not set, so no event can be verified"
    if not signature or not stamp.isdigit():
        return f"{SENDGRID_SIGNATURE} and a numeric {SENDGRID_TIMESTAMP} are required"
    if abs(time.time() - int(stamp)) > SENDGRID_MAX_AGE:
        return f"{SENDGRID_TIMESTAMP} is more than {SENDGRID_MAX_AGE // 60} minutes off"
    try:
        public_key = load_der_public_key(base64.b64decode(key))
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        public_key.verify(base64.b64decode(signature), stamp.encode() + request.get_data(),
                          ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error):
        return "the signature does not match the body and timestamp"
    except (ValueError, AssertionError):
        log.error("NOTIFIER_SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64 ECDSA public key")
        return "the configured verification key is not usable"
    return None


def _sendgrid_receipt(e: dict[str, Any], delivery_id: int) -> Receipt | None:
    kind, email = e.get("event"), str(e.get("email") or "")
    provider_id = f"{str(e.get('sg_message_id') or '').split('.')[0]}.{delivery_id}"
    if kind in ("processed", "delivered"):
        status = DeliveryStatus.SENT if kind == "processed" else DeliveryStatus.DELIVERED
        return Receipt("email", status, provider_id, delivery_id, email, check_provider_id=False)
    if kind not in ("bounce", "dropped"):
        return None
    # A bounce's reason is the remote server's text and may name the address: keep the code.
    detail = str(e.get("reason") or "") if kind == "dropped" else str(e.get("type") or "bounce")
    return Receipt("email", DeliveryStatus.UNDELIVERED, provider_id, delivery_id, email,
                   error_code=str(e.get("status") or kind)[:32],
                   error=f"SendGrid {kind}: {detail}" if detail else f"SendGrid {kind}",
                   check_provider_id=False)


def _sendgrid_mark(e: dict[str, Any]) -> str | None:
    kind = e.get("event")
    if kind in SENDGRID_OPT_OUT_EVENTS:
        return "opted_out"
    if kind == "dropped":
        return "opted_out" if e.get("reason") in SENDGRID_OPT_OUT_DROPS else "bounced"
    if kind == "bounce":
        return None if e.get("type") == "blocked" else "bounced"  # blocked: a soft bounce
    return None


def _sendgrid_reason(e: dict[str, Any]) -> str:
    """Say why SendGrid marked an address, without the remote server's text (it may name it)."""
    kind = str(e.get("event") or "")
    detail = str(e.get("reason") or "") if kind == "dropped" else str(e.get("status") or "")
    return f"SendGrid {kind}" + (f": {detail}" if detail else "")


def _apply_sendgrid(s: Session, e: dict[str, Any], delivery_id: int) -> int | None:
    receipt = _sendgrid_receipt(e, delivery_id)
    moved = receipts.apply_receipt(s, receipt) if receipt else None
    mark = _sendgrid_mark(e)
    found = receipts.find(s, Receipt("email", DeliveryStatus.SENT, "", delivery_id,
                                     str(e.get("email") or ""), check_provider_id=False))
    if mark and found is not None:
        receipts.mark_address(s, found[0], found[1], mark, _sendgrid_reason(e))
    return moved


def _sendgrid_event(e: Any) -> None:
    if not isinstance(e, dict) or not e.get("sg_event_id"):
        return
    raw = str(e.get("delivery_id") or "")
    if raw.isdigit():
        receipts.once("sendgrid", str(e["sg_event_id"]),
                      lambda s: _apply_sendgrid(s, e, int(raw)))


@bp.post("/sendgrid/events")
def sendgrid_events() -> Response | tuple[Response, int]:
    """Record a batch of SendGrid events: delivered, bounce, dropped, unsubscribe, spam report."""
    problem = _sendgrid_problem()
    if problem:
        return refuse(problem)
    try:
        events = json.loads(request.get_data())
    except ValueError:
        return refuse("the body is not JSON", 400)
    if not isinstance(events, list):
        return refuse("the body must be a JSON array of events", 400)
    for event in events:
        _sendgrid_event(event)
    return jsonify({"received": len(events)})
