"""Sanity before sending: what a preview points out, and how long sending takes.

The console's preview and `notifier send --dry-run` show the same: per delivery channel the
recipients and the time at the provider's rate, and warnings for an expected time already past,
a contact channel that is down, a delivery channel nobody gets, and an SMS longer than the
approver accepted (naming the optional field to leave out).
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time

from flask import current_app
from sqlalchemy.orm import Session

from . import clock, contacts, estimate, library, samples, vocabulary
from .dispatch import Preview
from .i18n import gettext as _
from .library.smsencoding import is_gsm
from .models import SUBSCRIPTION_CHANNELS as CHANNELS


def estimates(s: Session, preview: Preview) -> dict[str, estimate.Estimate]:
    """Estimate each channel's sending time with the one estimator (SMS in segments, the queue
    ahead on the same provider account, the live rate beside)."""
    segments = {lang: per["sms"].sms.segments for lang, per in preview.rendered.items()
                if "sms" in per and per["sms"].sms}
    return estimate.for_counts(s, preview.counts, segments)


@dataclass
class Check:
    """The warnings of one preview, and what they were measured against."""

    warnings: list[str] = field(default_factory=list)
    sms_budget: int | None = None


def check(s: Session, preview: Preview, restoring: Collection[str] = ()) -> Check:
    """Return everything an operator should know before confirming this preview."""
    result = Check()
    result.warnings += past_times(preview)
    result.warnings += down_contacts(s, preview, restoring)
    result.warnings += empty_channels(preview)
    if "sms" in (preview.request.channels or ()):
        result.sms_budget = budget(s, preview)
        result.warnings += over_budget(preview, result.sms_budget)
        result.warnings += wide_characters(preview)
    return result


def past_times(preview: Preview, now: datetime | None = None) -> list[str]:
    """Warn about a time or date-time field already past when the notice goes out."""
    moment = clock.to_local(preview.request.scheduled_at or now or clock.utcnow())
    out = []
    for var in preview.spec.variables:
        value = preview.values.items.get(var.name)
        if isinstance(value, datetime):
            past = value < moment
            shown = clock.local(value)
        elif isinstance(value, time):
            past = value < moment.time().replace(second=0, microsecond=0)
            shown = value.strftime("%H:%M")
        else:
            continue
        if past:
            out.append(_("“%(field)s” is %(value)s, which has already passed (it is %(now)s): "
                         "correct it, or leave it empty if there is no new time.",
                         field=var.label.get(_language(), var.label["en"]), value=shown,
                         now=moment.strftime("%H:%M")))
    return out


def down_contacts(s: Session, preview: Preview, restoring: Collection[str] = ()) -> list[str]:
    """Warn about contact channels marked down: left out now, or contradicting an all-clear."""
    out = []
    for c in contacts.all_contacts(s):
        if c.state != "down" or c.key in restoring:
            continue
        label = c.label_sv if _language() == "sv" else c.label_en
        if preview.spec.kind == "all_clear":
            out.append(_("%(label)s is still marked down: the banner and the status page keep "
                         "saying it does not work. Tick it under “Contact channels that are "
                         "back” if it works again.", label=label))
        else:
            out.append(_("%(label)s is marked down: it is not offered in this notice and the "
                         "banner leaves it out.", label=label))
    return out


def empty_channels(preview: Preview) -> list[str]:
    """Warn about a chosen delivery channel that nobody in the audience has."""
    out = []
    for channel in preview.request.channels or ():
        if channel in CHANNELS and not sum(preview.counts.get(channel, {}).values()):
            out.append(_("Nobody gets it by %(channel)s: no subscriber in the chosen segments "
                         "has a %(channel)s subscription.",
                         channel=vocabulary.name(vocabulary.CHANNEL, channel)))
    return out


def budget(s: Session, preview: Preview) -> int:
    """Return the SMS segments the approver accepted (measured now for older approvals)."""
    if preview.version.sms_budget:
        return preview.version.sms_budget
    return samples.worst_sms_segments(preview.spec, contacts.options(s), _organisation())


def over_budget(preview: Preview, allowed: int) -> list[str]:
    """Warn about an SMS with more segments than approved, naming the optional fields to drop."""
    out = []
    for lang, per in preview.rendered.items():
        info = per["sms"].sms if "sms" in per else None
        if info is None or info.segments <= allowed:
            continue
        drop = _droppable(preview, lang, allowed)
        language = vocabulary.name(vocabulary.LANGUAGE, lang)
        if drop:
            fields = _(" or ").join(f"“{name}”" for name in drop)
            out.append(_("The %(language)s SMS is %(n)s segments, more than the %(allowed)s the "
                         "approved template allows (each segment is paid for). Leave out "
                         "%(fields)s (optional) to bring it within %(allowed)s.",
                         language=language, n=info.segments, allowed=allowed, fields=fields))
        else:
            out.append(_("The %(language)s SMS is %(n)s segments, more than the %(allowed)s the "
                         "approved template allows (each segment is paid for): shorten the text "
                         "you typed in.", n=info.segments, allowed=allowed, language=language))
    return out


def _droppable(preview: Preview, lang: str, allowed: int) -> list[str]:
    """Name the optional fields that, left out alone, bring the SMS within budget."""
    found = []
    for var in _filled_optional(preview):
        items = {**preview.values.items, var.name: None}
        message = library.render(preview.spec, library.Values(items), lang, "sms",
                                 drill=preview.request.drill, organisation=_organisation())
        if message.sms is not None and message.sms.segments <= allowed:
            found.append(var.label.get(_language(), var.label["en"]))
    return found


def _filled_optional(preview: Preview) -> Sequence[library.Variable]:
    return [v for v in preview.spec.variables
            if not v.required and preview.values.items.get(v.name) is not None]


def wide_characters(preview: Preview) -> list[str]:
    """Warn about an SMS sent as UCS-2 (characters typed in that GSM does not have)."""
    out = []
    for lang, per in preview.rendered.items():
        info = per["sms"].sms if "sms" in per else None
        if info is not None and info.encoding == "UCS-2":
            odd = "".join(sorted({c for c in per["sms"].text if not is_gsm(c)}))
            out.append(_("The %(language)s SMS contains %(chars)s, so only %(n)s characters fit a "
                         "segment: replace those characters if you can.",
                         language=vocabulary.name(vocabulary.LANGUAGE, lang), chars=odd,
                         n=info.per_segment))
    return out


def _organisation() -> str:
    return str(current_app.config["ORGANISATION"])


def _language() -> str:
    from .i18n import current_language

    return current_language()
