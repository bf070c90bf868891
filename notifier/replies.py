"""What a customer gets back when they write to the SMS number or the Telegram bot, or call.

Every text is written in English, translated in `messages.po`, and given in the customer's
language (`force_locale`), whatever language the request came in.
"""
from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm import Session

from . import banner
from .models import LANGUAGES
from .texts import gettext as _


def _lang(language: str) -> str:
    return language if language in LANGUAGES else "sv"


def _org() -> str:
    return str(current_app.config["ORGANISATION"])


def stopped(language: str) -> str:
    """Confirm an opt-out."""
    with force_locale(_lang(language)):
        return _("You will get no more messages from %(org)s here.", org=_org())


def started(language: str) -> str:
    """Confirm an SMS opt-in (STARTA)."""
    with force_locale(_lang(language)):
        return _("You will get messages from %(org)s here again when customer service cannot be "
                 "reached. Reply STOPP to leave.", org=_org())


def help_text(language: str) -> str:
    """Say what the SMS number does (HJÄLP)."""
    with force_locale(_lang(language)):
        return _("%(org)s sends messages here when customer service cannot be reached. Reply "
                 "STATUS for the current situation, STOPP to leave.", org=_org())


def welcome(language: str) -> str:
    """Greet someone who started the Telegram bot, and ask for their language."""
    with force_locale(_lang(language)):
        return _("Hello! Here %(org)s tells you when customer service cannot be reached. "
                 "Choose your language to subscribe. Send /status for the current situation, "
                 "/stop to receive no more messages.", org=_org())


def subscribed(language: str) -> str:
    """Confirm a Telegram subscription, in the language just chosen."""
    with force_locale(_lang(language)):
        return _("Done: you will get messages from %(org)s here, in English. Send /status for "
                 "the current situation, /stop to leave.", org=_org())


def bot_help(language: str) -> str:
    """Say what the Telegram bot understands."""
    with force_locale(_lang(language)):
        return _("Send /status for the current situation, /start to subscribe or change "
                 "language, /stop to receive no more messages.")


def received(language: str) -> str:
    """Acknowledge a message that is not a keyword (it goes to the console's inbox)."""
    with force_locale(_lang(language)):
        return _("Thank you, your message has been passed on. This number sends notices only, "
                 "so an answer may take a while. Write STATUS for the current situation.")


def _link(link: dict[str, Any], lang: str) -> str:
    label = str(link["label"].get(lang) or "")
    if link["kind"] == "phone":
        return label  # the label already holds the number, as people write it
    target = str(link["href"]).removeprefix("mailto:")
    return f"{label}: {target}"


def _entry(entry: dict[str, Any], lang: str) -> str:
    text: dict[str, str] = entry["text"].get(lang) or next(iter(entry["text"].values()), {})
    lines = [text.get("headline", ""), text.get("body", "")]
    if entry.get("resolved"):
        lines[0] = _("Resolved: %(headline)s", headline=lines[0])
    lines += [_link(link, lang) for link in entry.get("links", [])]
    return "\n".join(line for line in lines if line)


def contact_list(s: Session, language: str) -> str:
    """Return the current situation and every working contact channel, for an SMS."""
    lang = _lang(language)
    text = status(s, lang)
    if any(e.get("text") for e in banner.document(s)["banners"]):
        return text  # the situation's own text names its contact channels
    with force_locale(lang):
        links = [_link(link, lang) for link in banner.links(s)]
        return "\n".join([_("%(org)s can be reached here:", org=_org()), *links]) if links else text


def status(s: Session, language: str) -> str:
    """Return the current banner text in plain words (what STATUS answers)."""
    lang = _lang(language)
    entries = [e for e in banner.document(s)["banners"] if e.get("text")]
    with force_locale(lang):
        if not entries:
            return _("There is no known disruption right now.")
        return "\n\n".join(_entry(e, lang) for e in entries)
