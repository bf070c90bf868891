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
    return swedish(moment).astimezone(UTC)


def swedish(moment: datetime) -> datetime:
    """Return a naive wall-clock time as Swedish time (an aware one as it is), refusing the spring gap."""
    if moment.tzinfo is not None:
        return moment.astimezone(ZONE)
    local = moment.replace(tzinfo=ZONE)
    # A wall-clock time that does not survive a round trip through UTC falls in the hour the
    # clocks skip in spring: it never happens, so a notice set for it would go out at a guess.
    if local.astimezone(UTC).astimezone(ZONE).replace(tzinfo=None) != moment:
        raise TimeInputError(f"{moment:%Y-%m-%d %H:%M} does not exist in Swedish time (the "
                             "clocks go forward); pick another time.")
    return local
