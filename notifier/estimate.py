"""One estimator of time: how long a channel's messages take at the provider's allowance.

It counts in the unit the provider limits (SMS segments, otherwise messages), adds what is
already waiting on the same provider account (other notices' open deliveries go first or
alongside), and sets the live rate of the last minute beside the configured one. The send
preview, the notice page, `notifier status` and the readiness report all ask this module.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .channels import SUBSCRIPTION_CHANNELS
from .models import OPEN_STATUSES, Delivery, Notice, Subscription, utcnow

LIVE_WINDOW = 60  # seconds of sending the live rate looks back on
DEFAULT_SEGMENTS = 2  # an outage SMS of the shipped library: two segments


@dataclass(frozen=True)
class Estimate:
    """How long one delivery channel takes, and why."""

    channel: str
    recipients: int
    units: float          # SMS segments, otherwise messages
    ahead: float          # units already waiting on the same provider account
    rate: float           # configured units per second
    live: float | None = None  # units per second sent in the last minute (None: none sent)

    @property
    def seconds(self) -> float:
        """Return the seconds until the last of these messages has gone, at the configured rate."""
        return (self.ahead + self.units) / self.rate if self.rate else 0.0

    @property
    def waits(self) -> float:
        """Return the seconds the first of them waits behind what is queued ahead."""
        return self.ahead / self.rate if self.rate else 0.0


def segments_of(rendered: Mapping[str, object], language: str) -> int:
    """Return the SMS segments of a notice's text in one language."""
    per = rendered.get(language) or rendered.get("sv") or {}
    sms = (per.get("sms") or {}) if isinstance(per, dict) else {}
    return int(((sms.get("sms") or {}).get("segments")) or 1)


def _open_units(s: Session, exclude: int | None = None) -> dict[str, float]:
    """Return the units of open deliveries per channel, SMS weighted by their notice's segments."""
    q = (select(Delivery.notice_id, Delivery.channel, Delivery.language, func.count())
         .where(Delivery.status.in_([st.value for st in OPEN_STATUSES]))
         .group_by(Delivery.notice_id, Delivery.channel, Delivery.language))
    if exclude is not None:
        q = q.where(Delivery.notice_id != exclude)
    units: dict[str, float] = {}
    rendered: dict[int, dict[str, object]] = {}
    for notice_id, channel, language, n in s.execute(q):
        weight = 1
        if channel == "sms":
            if notice_id not in rendered:
                rendered[notice_id] = s.scalar(select(Notice.rendered)
                                               .where(Notice.id == notice_id)) or {}
            weight = segments_of(rendered[notice_id], language)
        units[channel] = units.get(channel, 0.0) + n * weight
    return units


def live_rates(s: Session) -> dict[str, float]:
    """Return the messages per second sent in the last minute, per channel."""
    since = utcnow() - timedelta(seconds=LIVE_WINDOW)
    rows = s.execute(select(Delivery.channel, func.count()).where(Delivery.sent_at >= since)
                     .group_by(Delivery.channel))
    return {channel: n / LIVE_WINDOW for channel, n in rows}


def for_counts(s: Session, counts: Mapping[str, Mapping[str, int]],
               segments: Mapping[str, int], exclude: int | None = None) -> dict[str, Estimate]:
    """Estimate recipients per channel and language (SMS segments per language given)."""
    rates = current_app.config["RATES"]
    ahead, live = _open_units(s, exclude), live_rates(s)
    found = {}
    for channel, per in counts.items():
        units = sum(n * (segments.get(lang, 1) if channel == "sms" else 1)
                    for lang, n in per.items())
        found[channel] = Estimate(channel, sum(per.values()), units, ahead.get(channel, 0.0),
                                  rates[channel], live.get(channel))
    return found


def for_notice(s: Session, notice: Notice) -> dict[str, Estimate]:
    """Estimate the time left of a notice: its open deliveries, behind the other notices'."""
    rows = s.execute(select(Delivery.channel, Delivery.language, func.count())
                     .where(Delivery.notice_id == notice.id,
                            Delivery.status.in_([st.value for st in OPEN_STATUSES]))
                     .group_by(Delivery.channel, Delivery.language))
    counts: dict[str, dict[str, int]] = {}
    for channel, language, n in rows:
        counts.setdefault(channel, {})[language] = n
    segments = {lang: segments_of(notice.rendered, lang) for lang in notice.rendered}
    return for_counts(s, counts, segments, exclude=notice.id)


def for_audience(s: Session) -> dict[str, Estimate]:
    """Estimate reaching every active subscription, one message each (the readiness report)."""
    rows = dict(s.execute(select(Subscription.channel,
                                 func.count(func.distinct(Subscription.address)))
                          .where(Subscription.status == "active")
                          .group_by(Subscription.channel)).all())
    latest = s.scalar(select(Notice.rendered).order_by(Notice.id.desc()).limit(1))
    segments = segments_of(latest, "sv") if latest else DEFAULT_SEGMENTS
    counts = {ch: {"sv": int(rows.get(ch, 0))} for ch in SUBSCRIPTION_CHANNELS}
    return for_counts(s, counts, {"sv": segments})
