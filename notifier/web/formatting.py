"""How the console shows values: Swedish time, durations, phone numbers, the names of codes."""
from __future__ import annotations

import math
from datetime import UTC, datetime
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
    app.add_template_global(vocabulary.name, "vocabulary_name")
    app.context_processor(_globals)


def _globals() -> dict[str, Any]:
    words = vocabulary
    return {
        "sandbox": current_app.config["SANDBOX"], "user": g.get("user"),
        "channel_name": lambda c: vocabulary.name(words.CHANNEL, c),
        "status_name": lambda c: vocabulary.name(words.STATUS, c),
        "notice_state_name": lambda c: vocabulary.name(words.NOTICE_STATE, c),
        "incident_state_name": lambda c: vocabulary.name(words.INCIDENT_STATE, c),
        "contact_state_name": lambda c: vocabulary.name(words.CONTACT_STATE, c),
        "contact_kind_name": lambda c: vocabulary.name(words.CONTACT_KIND, c),
        "role_name": lambda c: vocabulary.name(words.ROLE, c),
        "kind_name": lambda c: vocabulary.name(words.KIND, c),
        "version_state_name": lambda c: vocabulary.name(words.VERSION_STATE, c),
        "language_name": lambda c: vocabulary.name(words.LANGUAGE, c),
    }


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
