"""Swedish and English: which language a request gets, and the translations (Flask-Babel).

Texts in code and pages are written in English and marked with `_()`; the Swedish catalog is
`notifier/translations/sv/LC_MESSAGES/messages.po` (`make translations` extracts, updates and
compiles it). A person's choice is remembered in the session; without one, the browser's
Accept-Language decides, and Swedish is the default.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask_babel import Babel

LANGUAGES = ("sv", "en")
DEFAULT = "sv"
TRANSLATIONS = Path(__file__).parent / "translations"


def init_app(app: Flask) -> None:
    """Install Flask-Babel with the notifier's locale selector and catalogs."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=current_language)


def current_language() -> str:
    """Return the language of this request: ?lang=, then the remembered choice, then the browser."""
    if not has_request_context():
        return DEFAULT
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        return asked
    remembered = session.get("lang") if session is not None else None
    if remembered in LANGUAGES:
        return str(remembered)
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT) or DEFAULT


def remember(language: str) -> None:
    """Keep a person's choice of language for the rest of their session."""
    if language in LANGUAGES:
        session["lang"] = language
