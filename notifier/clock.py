"""Time: stored as aware UTC, read and shown as Swedish local time in one format."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import overload
from zoneinfo import ZoneInfo

from .errors import NotifierError

ZONE = ZoneInfo("Europe/Stockholm")
# The one format a person sees, everywhere: console, CLI, reports, status page.
FORMAT = "%Y-%m-%d %H:%M"
FORMAT_SECONDS = "%Y-%m-%d %H:%M:%S"


class TimeInputError(NotifierError):
    """A time someone typed could not be read."""


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
def aware(moment: datetime | None) -> datetime | None:
    """Return the moment as aware UTC (a naive value is taken as UTC, as the database stores it)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def to_local(moment: datetime) -> datetime:
    """Return the moment in Swedish time."""
    return aware(moment).astimezone(ZONE)


def local(moment: datetime | None, *, seconds: bool = False, empty: str = "-") -> str:
    """Show a moment as Swedish time, 'YYYY-MM-DD HH:MM' (the operators' clock)."""
    if moment is None:
        return empty
    return to_local(moment).strftime(FORMAT_SECONDS if seconds else FORMAT)


def parse_local(text: str) -> datetime:
    """Read a Swedish-time 'YYYY-MM-DD HH:MM' (or ISO with 'T') as aware UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise TimeInputError(f"{text!r} is not a time: write YYYY-MM-DD HH:MM "
                             "(Swedish time).") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZONE)
    return moment.astimezone(UTC)
