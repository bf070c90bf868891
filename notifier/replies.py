"""What a customer gets back when they write to the SMS number or the Telegram bot."""
from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from . import banner

NO_DISRUPTION = {"sv": "Vi känner inte till någon störning just nu.",
                 "en": "There is no known disruption right now."}
STOPPED = {"sv": "Du får inga fler meddelanden från {org} här.",
           "en": "You will get no more messages from {org} here."}
WELCOME = {"sv": "Hej! Här får du besked från {org} när kundtjänst inte går att nå. "
                 "Skriv /status för läget just nu, /stop för att sluta få meddelanden.",
           "en": "Hello! {org} tells you here when customer service cannot be reached. "
                 "Send /status for the current situation, /stop to receive no more messages."}
RESOLVED = {"sv": "Löst", "en": "Resolved"}


def _lang(language: str) -> str:
    return language if language in NO_DISRUPTION else "sv"


def _org() -> str:
    return str(current_app.config["ORGANISATION"])


def stopped(language: str) -> str:
    """Confirm an opt-out."""
    return STOPPED[_lang(language)].format(org=_org())


def welcome(language: str) -> str:
    """Greet someone who started the bot."""
    return WELCOME[_lang(language)].format(org=_org())


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
        lines[0] = f"{RESOLVED[lang]}: {lines[0]}"
    lines += [_link(link, lang) for link in entry.get("links", [])]
    return "\n".join(line for line in lines if line)


def status(s: Session, language: str) -> str:
    """Return the current banner text in plain words (what STATUS answers)."""
    lang = _lang(language)
    entries = [e for e in banner.document(s)["banners"] if e.get("text")]
    if not entries:
        return NO_DISRUPTION[lang]
    return "\n\n".join(_entry(e, lang) for e in entries)
