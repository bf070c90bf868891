"""Swedish and English: which language a request gets, and the translations (Flask-Babel).

Texts in code and pages are written in English and marked with `_()`; the Swedish catalog is
`notifier/translations/sv/LC_MESSAGES/messages.po` (`make translations` extracts, updates and
compiles it). A person's choice is remembered in the session and on their account; without
one, the browser's Accept-Language decides, and Swedish is the default. The command line and
the workers, which have no browser, speak English.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import flask_babel
from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel

LANGUAGES = ("sv", "en")
DEFAULT = "sv"
COMMAND_LINE = "en"
NAMES = {"sv": "Svenska", "en": "English"}
TRANSLATIONS = Path(__file__).parent / "translations"


def init_app(app: Flask) -> None:
    """Install Flask-Babel with the notifier's locale selector and catalogs."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=current_language)
    app.jinja_env.globals.update(current_language=current_language, language_names=NAMES)


def current_language() -> str:
    """Return the language of this request: ?lang=, the remembered choice, then the browser."""
    if not has_request_context():
        return COMMAND_LINE
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        return asked
    remembered = session.get("lang") if session is not None else None
    if remembered in LANGUAGES:
        return str(remembered)
    user = g.get("user")
    chosen = getattr(user, "language", None)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT) or DEFAULT


def remember(language: str) -> None:
    """Keep a person's choice of language for the rest of their session."""
    if language in LANGUAGES:
        session["lang"] = language


def other(language: str) -> str:
    """Return the language a switch offers next to this one."""
    return "en" if language == "sv" else "sv"


def gettext(text: str, **variables: Any) -> str:
    """Translate a text into the current language (Flask-Babel's gettext, typed): `_()`."""
    return str(flask_babel.gettext(text, **variables))


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """Translate a text whose wording depends on a number."""
    return str(flask_babel.ngettext(singular, plural, num, **variables))
