"""How the console shows values: Swedish time, durations, phone numbers, the names of codes."""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app, g

from .. import clock, library, vocabulary
from ..i18n import gettext as _


def init_app(app: Flask) -> None:
    """Register the filters and globals every console page uses."""
    app.add_template_filter(local_time, "local")
    app.add_template_filter(local_seconds, "local_seconds")
    app.add_template_filter(epoch_local, "epoch_local")
    app.add_template_filter(phone_display, "phone")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(channel_label, "channel_label")
    app.add_template_filter(span, "span")
    for global_name, table in NAMERS.items():
        app.add_template_global(_namer(table), global_name)
    app.context_processor(_globals)


def _globals() -> dict[str, Any]:
    return {"sandbox": current_app.config["SANDBOX"], "user": g.get("user")}


def _namer(table: dict[str, Any]) -> Any:
    def name(code: str) -> str:
        return vocabulary.name(table, code)
    return name


# Template globals (seen in imported macros too): code -> the word a person reads.
NAMERS = {"channel_name": vocabulary.CHANNEL, "status_name": vocabulary.STATUS,
          "notice_state_name": vocabulary.NOTICE_STATE,
          "incident_state_name": vocabulary.INCIDENT_STATE,
          "contact_state_name": vocabulary.CONTACT_STATE,
          "contact_kind_name": vocabulary.CONTACT_KIND, "role_name": vocabulary.ROLE,
          "kind_name": vocabulary.KIND, "version_state_name": vocabulary.VERSION_STATE,
          "language_name": vocabulary.LANGUAGE}


def channel_label(code: str) -> str:
    """Name a delivery channel in the current language."""
    return vocabulary.name(vocabulary.CHANNEL, code)


def span(delta: timedelta | None) -> str:
    """Show how long something took as h:mm:ss (empty when it never happened)."""
    if delta is None:
        return "–"
    seconds = int(delta.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def local_time(moment: datetime | None) -> str:
    """Show a timestamp in Swedish time (the operators' clock)."""
    return clock.local(moment)


def local_seconds(moment: datetime | None) -> str:
    """Show a timestamp in Swedish time, to the second."""
    return clock.local(moment, seconds=True)


def epoch_local(seconds: float) -> str:
    """Show a Unix time in Swedish time."""
    return clock.local(datetime.fromtimestamp(seconds, tz=UTC))


def phone_display(value: str) -> str:
    """Show an E.164 number the Swedish way."""
    return library.format_phone(value, "sv") if value.startswith("+") else value


def duration(seconds: float) -> str:
    """Say how long something takes as a person would: about 9 s, about 2 h 40 min."""
    if seconds < 59.5:
        return _("about %(n)s s", n=max(1, math.ceil(seconds)))
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return _("about %(n)s min", n=minutes)
    hours, rest = divmod(minutes, 60)
    if rest:
        return _("about %(h)s h %(m)s min", h=hours, m=rest)
    return _("about %(h)s h", h=hours)
