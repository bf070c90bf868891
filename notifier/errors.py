"""The one exception base of the project."""
from __future__ import annotations


class NotifierError(Exception):
    """A failure the user can act on: the message says what is wrong and what to do."""
