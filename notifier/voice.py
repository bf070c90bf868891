"""The status line: a phone number that still answers when the company's numbers are silent.

Twilio calls the voice webhook when someone rings NOTIFIER_VOICE_NUMBER; the answer is TwiML
that reads the current situation in Swedish, then English, names the contact channels that work,
and offers to send them by SMS (press 1 for Swedish, 2 for English).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from . import banner, contacts, replies
from .addresses import AddressError, normalise_phone
from .channels import make_adapter
from .channels.base import Message, Result
from .contacts import ContactDefinition
from .texts import gettext as _

log = logging.getLogger(__name__)
CONTACT_KEY = "statuslinje"
SPEECH = {"sv": "sv-SE", "en": "en-GB"}
DIGITS = {"1": "sv", "2": "en"}


def register_contact(s: Session) -> None:
    """Keep the status line in the contact-channel registry, so /status and the banner show it."""
    number = current_app.config.get("VOICE_NUMBER")
    if number:
        contacts.register(s, ContactDefinition(CONTACT_KEY, "phone", "Telefonsvar om läget",
                                               "Recorded status line", number))


def _spoken_number(text: str) -> str:
    """Spell a phone number digit by digit, the way a listener can write it down."""
    return re.sub(r"[\d][\d\s-]{4,}\d", lambda m: ", ".join(
        " ".join(group) for group in re.split(r"[\s-]+", m.group(0))), text)


def _spoken_link(link: dict[str, object], lang: str) -> str:
    label = str((link.get("label") or {}).get(lang, ""))  # type: ignore[attr-defined]
    href = str(link.get("href") or "")
    if link.get("kind") == "phone":
        return _spoken_number(label)
    target = href.removeprefix("mailto:").removeprefix("https://")
    return f"{label}: {target}"


def script(s: Session, lang: str) -> str:
    """Return what the line says in one language: the situation, the contact channels, the menu."""
    with force_locale(lang):
        entries = [e for e in banner.document(s)["banners"] if e.get("text")]
        parts = []
        for e in entries:
            text = e["text"].get(lang) or next(iter(e["text"].values()))
            parts += [text.get("headline", ""), text.get("body", "")]
        if not entries:
            parts.append(_("This is %(org)s. There is no known disruption right now: customer "
                           "service can be reached as usual.", org=current_app.config["ORGANISATION"]))
        links = [k for k in banner.links(s) if not str(k.get("href", "")).endswith(
            str(current_app.config.get("VOICE_NUMBER") or "-"))]
        if links:
            parts.append(_("You can reach us: %(channels)s.",
                           channels="; ".join(_spoken_link(k, lang) for k in links)))
            parts.append(_("Press 1 to get this by text message in Swedish.") if lang == "sv"
                         else _("Press 2 to get this by text message in English."))
        return " ".join(_sentence(p) for p in parts if p and p.strip())


def _sentence(text: str) -> str:
    """End a headline with a full stop, so the voice pauses before the next sentence."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", ":")) else f"{text}."


def answer(s: Session, menu_url: str) -> str:
    """Return the TwiML that answers a call."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=menu_url, method="POST", timeout=8)
    for lang in ("sv", "en"):
        gather.say(script(s, lang), language=SPEECH[lang])
    response.append(gather)
    for lang in ("sv", "en"):
        with force_locale(lang):
            response.say(_("Thank you for calling. Goodbye."), language=SPEECH[lang])
    return str(response)


@dataclass(frozen=True)
class Choice:
    """What a caller asked for with a key: an SMS in a language, to their number (if usable)."""

    language: str | None
    number: str | None = None
    text: str = ""


def choose(s: Session, digits: str, caller: str) -> Choice:
    """Read the caller's key; 1 or 2 prepares the SMS (sent by `reply`, outside the transaction)."""
    lang = DIGITS.get(digits.strip()[:1])
    if lang is None:
        return Choice(None)
    try:
        number = normalise_phone(caller, current_app.config["SUBSCRIBE_COUNTRIES"])
    except AddressError:
        return Choice(lang)
    return Choice(lang, number, replies.contact_list(s, lang))


def reply(choice: Choice | None) -> str:
    """Send the SMS a caller asked for, and return the TwiML that says so (or goodbye)."""
    response = VoiceResponse()
    if choice is None or choice.language is None:
        for spoken in ("sv", "en"):
            with force_locale(spoken):
                response.say(_("Thank you for calling. Goodbye."), language=SPEECH[spoken])
        return str(response)
    sent = choice.number is not None and _text(choice.number, choice.language, choice.text)
    with force_locale(choice.language):
        response.say(_("We have sent you a text message. Goodbye.") if sent else
                     _("We could not send a text message to your number. Goodbye."),
                     language=SPEECH[choice.language])
    return str(response)


def _text(number: str, lang: str, text: str) -> bool:
    cfg = current_app.config
    adapter = make_adapter("sms", cfg["PROVIDERS"]["twilio"], cfg, callback_url=None, timeout=5)
    try:
        [outcome] = adapter.send([Message(0, number, lang, text)])
    finally:
        adapter.close()
    if outcome.result is not Result.SENT:
        log.warning("status line SMS not sent: %s", outcome.error_code)
    return outcome.result is Result.SENT
