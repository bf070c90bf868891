"""Texts made in the domain and shown later, to whoever reads them, in their language.

The domain writes a text in English with `%(name)s` placeholders, marked with `_l` so
`make translations` extracts it; where it is shown, `translated()` gives it in the reader's
language (the console's, or a customer's with `flask_babel.force_locale`), and `str()` gives
the English (the command line, logs of no personal data, tests).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _l(message: str) -> str:
    """Mark a text for translation; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Text:
    """An English text with its values, translatable when shown."""

    message: str
    values: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message % self.values if self.values else self.message

    def translated(self) -> str:
        """Return the text in the current language (Flask-Babel), values filled in."""
        from flask_babel import gettext

        values = {k: v.translated() if isinstance(v, Text) else v for k, v in self.values.items()}
        return str(gettext(self.message, **values))


def gettext(message: str, **values: Any) -> str:
    """Translate a text into the current language (Flask-Babel's gettext, typed)."""
    from flask_babel import gettext as translate

    return str(translate(message, **values))
