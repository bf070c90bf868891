"""Provider callbacks: delivery receipts, opt-outs and what customers write back.

Every endpoint authenticates its caller before reading anything (Twilio's HMAC signature,
SendGrid's ECDSA signature, Telegram's secret token) and is idempotent: each event is recorded
in `webhook_event`, so a replay or a provider's retry has no effect.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import html
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
from twilio.twiml.messaging_response import MessagingResponse

from .. import receipts, replies
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
# Twilio answers its own opt-out words itself (and refuses to send anything after them);
# Swedish customers write STOPP or AVSLUTA, which only we recognise and confirm.
TWILIO_STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
OUR_STOP_WORDS = {"STOPP", "AVSLUTA"}
STATUS_WORDS = {"STATUS", "LÄGE", "LAGE"}

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
SENDGRID_MAX_AGE = 300
SENDGRID_OPT_OUT_EVENTS = {"unsubscribe", "group_unsubscribe", "spamreport"}
SENDGRID_OPT_OUT_DROPS = {"Unsubscribed Address", "Spam Reporting Address"}

TELEGRAM_SECRET = "X-Telegram-Bot-Api-Secret-Token"
TELEGRAM_REPLY_TIMEOUT = 5.0


def init_app(app: Flask) -> None:
    """Serve the webhooks; providers sign their calls, so the console's CSRF check is off here."""
    from .auth import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)


def _refuse(why: str, status: int = 403) -> tuple[Response, int]:
    log.warning("webhook refused (%d): %s", status, why)
    return jsonify({"error": why}), status


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


# --- Twilio ------------------------------------------------------------------------------------

TWILIO_UNSIGNED = ("X-Twilio-Signature is missing or does not match NOTIFIER_PUBLIC_URL and the "
                   "Twilio auth token")


def _twilio_signed(path: str) -> bool:
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
            receipts.mark_address(s, found[0], found[1], mark)
    return moved


@bp.post("/twilio/status")
def twilio_status() -> Response | tuple[Response, int]:
    """Record a Twilio status callback: sent, delivered or undelivered (with its error code)."""
    if not _twilio_signed("/webhooks/twilio/status"):
        return _refuse(TWILIO_UNSIGNED)
    sid = request.form.get("MessageSid", "")
    raw = request.form.get("MessageStatus", "")
    if not sid or not raw:
        return _refuse("MessageSid and MessageStatus are required", 400)
    status = TWILIO_STATUS.get(raw)
    receipt = None if status is None else _twilio_receipt(sid, status,
                                                          request.form.get("ErrorCode", ""))
    receipts.once("twilio", f"{sid}:{raw}",
                  lambda s: _apply_twilio(s, receipt) if receipt else None)
    return Response(status=204)


def _twiml(text: str | None) -> Response:
    twiml = MessagingResponse()
    if text:
        twiml.message(text)
    return Response(str(twiml), mimetype="text/xml")


def _inbound_reply(s: Session, sender: str, word: str) -> str | None:
    lang = receipts.language_of(s, "sms", sender)
    if word in TWILIO_STOP_WORDS | OUR_STOP_WORDS:
        receipts.mark_address(s, "sms", sender, "opted_out")
        return replies.stopped(lang) if word in OUR_STOP_WORDS else None
    if word in STATUS_WORDS:
        return replies.status(s, lang)
    return None


@bp.post("/twilio/inbound")
def twilio_inbound() -> Response | tuple[Response, int]:
    """Act on an SMS a customer sent: STOP/STOPP/AVSLUTA opt out, STATUS gets the situation."""
    if not _twilio_signed("/webhooks/twilio/inbound"):
        return _refuse(TWILIO_UNSIGNED)
    sid, sender = request.form.get("MessageSid", ""), request.form.get("From", "")
    if not sid or not sender:
        return _refuse("MessageSid and From are required", 400)
    words = request.form.get("Body", "").strip().upper().split()
    word = words[0].strip(".!") if words else ""
    # Replies are de-duplicated too: a replayed request must not make us text anyone again.
    return _twiml(receipts.once("twilio_in", sid, lambda s: _inbound_reply(s, sender, word)))


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


def _apply_sendgrid(s: Session, e: dict[str, Any], delivery_id: int) -> int | None:
    receipt = _sendgrid_receipt(e, delivery_id)
    moved = receipts.apply_receipt(s, receipt) if receipt else None
    mark = _sendgrid_mark(e)
    found = receipts.find(s, Receipt("email", DeliveryStatus.SENT, "", delivery_id,
                                     str(e.get("email") or ""), check_provider_id=False))
    if mark and found is not None:
        receipts.mark_address(s, found[0], found[1], mark)
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
        return _refuse(problem)
    try:
        events = json.loads(request.get_data())
    except ValueError:
        return _refuse("the body is not JSON", 400)
    if not isinstance(events, list):
        return _refuse("the body must be a JSON array of events", 400)
    for event in events:
        _sendgrid_event(event)
    return jsonify({"received": len(events)})


# --- Telegram ----------------------------------------------------------------------------------

def _command(text: str) -> str:
    first = text.strip().split(maxsplit=1)[0] if text.strip() else ""
    return first.split("@", 1)[0].lstrip("/").lower()


def _telegram_action(s: Session, update: dict[str, Any]) -> tuple[str, str, str] | None:
    """Apply an update; return (chat id, language, reply) when it deserves an answer."""
    member = update.get("my_chat_member")
    if isinstance(member, dict):
        if (member.get("new_chat_member") or {}).get("status") in ("kicked", "left"):
            chat_id = str((member.get("chat") or {}).get("id", ""))
            receipts.mark_address(s, "telegram", chat_id, "opted_out")
        return None
    message = update.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("text"), str):
        return None
    chat_id = str((message.get("chat") or {}).get("id", ""))
    hint = "en" if str((message.get("from") or {}).get("language_code", "")).startswith("en") \
        else "sv"
    lang = receipts.language_of(s, "telegram", chat_id, hint)
    command = _command(message["text"])
    if command in ("stop", "stopp", "avsluta"):
        receipts.mark_address(s, "telegram", chat_id, "opted_out")
        return chat_id, lang, replies.stopped(lang)
    if command == "status":
        return chat_id, lang, replies.status(s, lang)
    if command == "start":
        return chat_id, lang, replies.welcome(lang)
    return None


def _telegram_reply(chat_id: str, language: str, text: str) -> None:
    """Answer at once through the bot, with a short timeout.

    Not a queued job: the job would carry the chat id (personal data) through Redis, and an
    answer is worth something only within seconds. Telegram waits for our response anyway, and
    the update is recorded first, so a retried update never answers twice.
    """
    from ..channels import make_adapter
    from ..channels.base import Message, Result

    cfg = current_app.config
    adapter = make_adapter("telegram", cfg["PROVIDERS"]["telegram"], cfg, concurrency=1,
                           timeout=TELEGRAM_REPLY_TIMEOUT)
    try:
        [outcome] = adapter.send([Message(0, chat_id, language, html.escape(text))])
    finally:
        adapter.close()
    if outcome.result is not Result.SENT:
        log.warning("telegram reply not sent: %s", outcome.error_code)


@bp.post("/telegram/<secret>")
def telegram_update(secret: str) -> Response | tuple[Response, int]:
    """Act on a Telegram update: a blocked bot, /stop, /status, /start."""
    expected = current_app.config.get("TELEGRAM_WEBHOOK_SECRET") or ""
    header = request.headers.get(TELEGRAM_SECRET, "")
    if not expected or not (_same(secret, expected) & _same(header, expected)):
        return _refuse(f"the URL secret or {TELEGRAM_SECRET} does not match "
                       "NOTIFIER_TELEGRAM_WEBHOOK_SECRET")
    update = request.get_json(silent=True)
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return _refuse("the body must be a Telegram Update object with an update_id", 400)
    reply = receipts.once("telegram", str(update["update_id"]),
                          lambda s: _telegram_action(s, update))
    if reply is not None:
        _telegram_reply(*reply)
    return jsonify({"ok": True})
