"""Account administration from the console: invite, role, deactivate, password links, language."""
from __future__ import annotations

from sqlalchemy.orm import Session

from .errors import NotifierError
from .i18n import LANGUAGES
from .models import User


class AdministrationError(NotifierError):
    """An account cannot be changed as asked."""


def _user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise AdministrationError(f"No account {user_id}: reload the list of accounts.")
    return user


def set_language(s: Session, user_id: int, language: str) -> None:
    """Remember the console language a person chose on their account."""
    if language not in LANGUAGES:
        raise AdministrationError(f"Unknown language {language!r}: choose sv or en.")
    _user(s, user_id).language = language
