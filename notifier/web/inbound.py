"""What customers send us: SMS keywords, Telegram updates, and calls to the status line.

Each endpoint authenticates its caller first (Twilio's signature, Telegram's secret token) and
is de-duplicated, so a replay or a provider's retry texts nobody twice.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy.orm import Session
from twilio.twiml.messaging_response import MessagingResponse

from .. import bot, consent, inbox, receipts, replies, voice
from ..addresses import AddressError, normalise_phone
from .limiter import limiter
from .webhooks import TWILIO_UNSIGNED, live_provider_only, refuse, same, twilio_signed

bp = Blueprint("inbound", __name__, url_prefix="/webhooks")
# What customers write comes in on the same terms as the receipts: never through a provider
# that runs on the published sandbox credentials in a live deployment.
bp.before_request(live_provider_only)

# Twilio answers its own keywords itself (and blocks messages after STOP, unblocks after
# START); we record what they mean. Swedish customers write STOPP, STARTA or HJÄLP, which
# only we recognise, so only those get our reply.
TWILIO_STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
OUR_STOP_WORDS = {"STOPP", "AVSLUTA"}
TWILIO_START_WORDS = {"START", "YES", "UNSTOP"}
OUR_START_WORDS = {"STARTA"}
TWILIO_HELP_WORDS = {"HELP", "INFO"}
OUR_HELP_WORDS = {"HJÄLP", "HJALP"}
STATUS_WORDS = {"STATUS", "LÄGE", "LAGE"}
TELEGRAM_SECRET = "X-Telegram-Bot-Api-Secret-Token"


def init_app(app: Flask) -> None:
    """Serve the inbound webhooks; providers sign their calls, so the console's CSRF is off."""
    from .auth import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)


# --- SMS ---------------------------------------------------------------------------------------

def _twiml(text: str | None) -> Response:
    twiml = MessagingResponse()
    if text:
        twiml.message(text)
    return Response(str(twiml), mimetype="text/xml")


def _start(s: Session, sender: str, word: str, lang: str) -> str | None:
    try:
        number = normalise_phone(sender)
    except AddressError:
        return None
    chosen = "sv" if word in OUR_START_WORDS else None
    consent.subscribe(s, consent.Yes("sms", number, "sms_keyword",
                                     chosen or ("en" if word in TWILIO_START_WORDS else None)))
    return replies.started(chosen or lang) if word in OUR_START_WORDS else None


def _inbound_reply(s: Session, sender: str, body: str) -> str | None:
    words = body.strip().upper().split()
    word = words[0].strip(".!") if len(words) == 1 else ""
    lang = receipts.language_of(s, "sms", sender)
    if word in TWILIO_STOP_WORDS | OUR_STOP_WORDS:
        receipts.mark_address(s, "sms", sender, "opted_out", f"replied {word} by SMS")
        return replies.stopped(lang) if word in OUR_STOP_WORDS else None
    if word in TWILIO_START_WORDS | OUR_START_WORDS:
        return _start(s, sender, word, lang)
    if word in TWILIO_HELP_WORDS | OUR_HELP_WORDS:
        return replies.help_text(lang) if word in OUR_HELP_WORDS else None
    if word in STATUS_WORDS:
        return replies.status(s, lang)
    if body.strip():
        inbox.record(s, "sms", sender, body.strip())
        return replies.received(lang)
    return None


@bp.post("/twilio/inbound")
def twilio_inbound() -> Response | tuple[Response, int]:
    """Act on an SMS a customer sent: STOP/STOPP, START/STARTA, HJÄLP, STATUS; keep the rest."""
    if not twilio_signed("/webhooks/twilio/inbound"):
        return refuse(TWILIO_UNSIGNED)
    sid, sender = request.form.get("MessageSid", ""), request.form.get("From", "")
    if not sid or not sender:
        return refuse("MessageSid and From are required", 400)
    body = request.form.get("Body", "")[:1600]
    # Replies are de-duplicated too: a replayed request must not make us text anyone again.
    return _twiml(receipts.once("twilio_in", sid, lambda s: _inbound_reply(s, sender, body)))


# --- voice -------------------------------------------------------------------------------------

def _voice(xml: str) -> Response:
    return Response(xml, mimetype="text/xml")


def _caller_key() -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    caller = request.form.get("From", "")
    return "caller:" + hmac.new(key, caller.encode(), hashlib.sha256).hexdigest()[:32]


@bp.post("/twilio/voice")
def twilio_voice() -> Response | tuple[Response, int]:
    """Answer a call to the status line: the situation in Swedish and English, and a menu."""
    if not twilio_signed("/webhooks/twilio/voice"):
        return refuse(TWILIO_UNSIGNED)
    from .. import db

    menu_url = f"{current_app.config['PUBLIC_URL']}/webhooks/twilio/voice/menu"
    return _voice(voice.answer(db.session(), menu_url))


@bp.post("/twilio/voice/menu")
@limiter.limit("3 per hour", key_func=_caller_key)
def twilio_voice_menu() -> Response | tuple[Response, int]:
    """Act on the caller's key: 1 or 2 sends the contact channels by SMS."""
    if not twilio_signed("/webhooks/twilio/voice/menu"):
        return refuse(TWILIO_UNSIGNED)
    sid = request.form.get("CallSid", "")
    if not sid:
        return refuse("CallSid is required", 400)
    digits, caller = request.form.get("Digits", ""), request.form.get("From", "")
    # A retried request says goodbye without texting the caller again.
    choice = receipts.once("twilio_voice", f"{sid}:menu", lambda s: voice.choose(s, digits, caller))
    return _voice(voice.reply(choice))


# --- Telegram ----------------------------------------------------------------------------------

@bp.post("/telegram/<secret>")
def telegram_update(secret: str) -> Response | tuple[Response, int]:
    """Act on a Telegram update: /start (language buttons), /stop, /status, a blocked bot."""
    expected = current_app.config.get("TELEGRAM_WEBHOOK_SECRET") or ""
    header = request.headers.get(TELEGRAM_SECRET, "")
    if not expected or not (same(secret, expected) & same(header, expected)):
        return refuse(f"the URL secret or {TELEGRAM_SECRET} does not match "
                      "NOTIFIER_TELEGRAM_WEBHOOK_SECRET")
    update: Any = request.get_json(silent=True)
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return refuse("the body must be a Telegram Update object with an update_id", 400)
    # The update is recorded before anything is sent, so a retried update never answers twice.
    bot.answer(bot.handle_once(update))
    return jsonify({"ok": True})
