"""Would the plan work today? Delivery channels, templates, contact channels, subscribers, drills.

Every check says what it found; every gap says the action that closes it. The texts are lazy
translations (the console shows them in the reader's language, the command line in English).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import contacts, estimate, library, probes, totals
from .clock import utcnow
from .models import SUBSCRIPTION_CHANNELS as CHANNELS
from .models import Incident, Subscription, Template, TemplateVersion

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
KINDS = ("initial", "update", "all_clear", "maintenance")
DRILL_EVERY = timedelta(days=183)   # the continuity plan exercises twice a year
DELIVERED_SHARE = 0.9               # a drill that reached fewer had a problem worth finding
STALE_LIST = timedelta(days=365)
REACHED = ("sent", "delivered")


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, what was found, and what closes a gap."""

    area: str  # channels | templates | contacts | subscribers | drill | estimate
    name: str
    ok: bool
    detail: str | LazyString
    action: str | LazyString = ""


@dataclass
class Report:
    """The whole readiness report."""

    checks: list[Check] = field(default_factory=list)
    at: datetime = field(default_factory=utcnow)

    @property
    def ready(self) -> bool:
        """Tell whether there is no gap."""
        return all(c.ok for c in self.checks)

    def gaps(self) -> list[Check]:
        """Return the checks that failed."""
        return [c for c in self.checks if not c.ok]


def delivery_channels(s: Session) -> list[Check]:
    """Ask each provider, harmlessly, whether it would take messages now."""
    found = []
    for p in current_app.config["PROVIDERS"].values():
        channel = probes.CHANNEL_OF[p.name]
        answer = probes.probe(p)
        where = _l("sandbox (nothing real is sent)") if p.sandbox else p.name
        found.append(Check("channels", channel, answer.ok,
                           _l("%(where)s: %(detail)s", where=where, detail=answer.detail),
                           "" if answer.ok else _l(
                               "Check the %(provider)s credentials and NOTIFIER_%(upper)s_* "
                               "settings, and that the provider answers from this host.",
                               provider=p.name, upper=p.name.upper())))
    return found


def _shipped_keys() -> list[str]:
    try:
        return sorted(spec.key for spec in library.load_dir(TEMPLATES_DIR))
    except Exception:  # noqa: BLE001 - an unreadable library is reported by the checks below
        return []


def templates(s: Session) -> list[Check]:
    """Check there is an approved template, in both languages, for every scenario."""
    approved: dict[str, TemplateVersion] = {
        v.template.key: v for v in s.scalars(select(TemplateVersion).join(Template)
                                             .where(TemplateVersion.state == "approved"))}
    kinds: dict[str, str] = {}
    found = []
    for key in _shipped_keys() or sorted(approved):
        version = approved.get(key)
        languages = set((version.content.get("content") or {}).keys()) if version else set()
        ok = version is not None and {"sv", "en"} <= languages
        if version is not None:
            kinds.setdefault(str(version.content.get("kind", "")), key)
        found.append(Check("templates", key, ok,
                           _l("approved version %(n)s in Swedish and English",
                              n=version.number) if ok and version is not None else
                           _l("no approved version in both Swedish and English"),
                           "" if ok else _l("Write or import %(key)s in both languages and have "
                                            "a second person approve it.", key=key)))
    for kind in KINDS:
        if kind not in kinds:
            found.append(Check("templates", kind, False, _l("no approved template of this kind"),
                               _l("Approve a template of kind %(kind)s.", kind=kind)))
    return found


def contact_channels(s: Session) -> list[Check]:
    """Check the registry: channels registered, recently verified, no shared plan B dependency."""
    days = int(current_app.config["READINESS_VERIFIED_DAYS"])
    since = utcnow() - timedelta(days=days)
    registry = contacts.all_contacts(s)
    found = [Check("contacts", "registry", len(registry) >= 2,
                   _l("%(n)s contact channels registered", n=len(registry)),
                   "" if len(registry) >= 2 else _l(
                       "Register the switchboard, chat, email and web form as plan B: "
                       "`notifier contacts add`."))]
    for c in registry:
        ok = c.verified_at is not None and c.verified_at >= since
        found.append(Check("contacts", c.key, ok,
                           _l("checked within %(days)s days", days=days) if ok else
                           _l("not checked for more than %(days)s days", days=days),
                           "" if ok else _l("Check that %(key)s works and mark its state "
                                            "(`notifier contacts set %(key)s up`).", key=c.key)))
    return found + shared_dependencies(s)


def shared_dependencies(s: Session) -> list[Check]:
    """Flag a plan B that fails for the same reason as what it replaces."""
    found = []
    for dependency, channels in contacts.shared_dependencies(s).items():
        keys = ", ".join(c.key for c in channels)
        phones = [c for c in channels if c.kind == "phone"]
        every_phone = [c for c in contacts.all_contacts(s) if c.kind == "phone"]
        if len(phones) >= 2 and len(phones) == len(every_phone):
            found.append(Check("contacts", f"depends:{dependency}", False, _l(
                "all %(n)s phone numbers (%(keys)s) depend on %(dep)s: when it fails, no number "
                "works", n=len(phones), keys=", ".join(c.key for c in phones), dep=dependency),
                _l("Move one number (e.g. the switchboard) to another operator, or make sure "
                   "chat, email or the web form carry plan B.")))
        else:
            found.append(Check("contacts", f"depends:{dependency}", True, _l(
                "%(keys)s depend on %(dep)s: an alert naming it marks them all down at once",
                keys=keys, dep=dependency)))
    return found


def subscribers(s: Session) -> list[Check]:
    """Count active subscriptions per delivery channel and say how fresh the list is."""
    rows = dict(s.execute(select(Subscription.channel, func.count())
                          .where(Subscription.status == "active")
                          .group_by(Subscription.channel)).all())
    latest = s.scalar(select(func.max(Subscription.updated_at)))
    found = [Check("subscribers", channel, bool(rows.get(channel)),
                   _l("%(n)s active subscriptions", n=rows.get(channel, 0)),
                   "" if rows.get(channel) else _l(
                       "Import subscribers with this channel (`notifier subscribers import`)."))
             for channel in CHANNELS]
    fresh = latest is not None and utcnow() - latest <= STALE_LIST
    found.append(Check("subscribers", "freshness", fresh,
                       _l("last change %(when)s", when=latest.date().isoformat()) if latest else
                       _l("no subscriber yet"),
                       "" if fresh else _l("Import the current customer list.")))
    return found


def last_drill(s: Session) -> list[Check]:
    """Check the last drill: recent enough, and what share of its messages got through."""
    incident = s.scalar(select(Incident).where(Incident.drill.is_(True))
                        .order_by(Incident.opened_at.desc()).limit(1))
    if incident is None:
        return [Check("drill", "last", False, _l("no drill has been sent"), _l(
            "Send a drill to the staff segment (`notifier send phone-lines-down --drill "
            "--segment staff ...`).")) ]
    counts: dict[str, int] = {}
    for notice in incident.notices:
        for total in totals.of_notice(s, notice.id).values():
            for status, n in total.counts.items():
                counts[status] = counts.get(status, 0) + int(n)
    planned = sum(n for st, n in counts.items() if st not in totals.UNREACHABLE)
    reached = sum(counts.get(st, 0) for st in REACHED)
    share = reached / planned if planned else 0.0
    recent = utcnow() - incident.opened_at <= DRILL_EVERY
    ok = recent and share >= DELIVERED_SHARE
    return [Check("drill", "last", ok, _l(
        "%(date)s: %(reached)s of %(planned)s messages sent or delivered (%(pct)s %%)",
        date=incident.opened_at.date().isoformat(), reached=reached, planned=planned,
        pct=math.floor(share * 100)),
        "" if ok else _l("Send a drill (twice a year) and look into what did not arrive."))]


def estimates(s: Session) -> list[Check]:
    """Estimate how long reaching every subscriber takes per channel at the provider limits."""
    found = []
    for channel, e in estimate.for_audience(s).items():
        found.append(Check("estimate", channel, True, _l(
            "%(n)s recipients in about %(minutes)s min at %(rate)s/s", n=e.recipients,
            minutes=max(1, math.ceil(e.seconds / 60)) if e.units else 0, rate=e.rate)))
    return found


SECTIONS: tuple[Callable[[Session], list[Check]], ...] = (
    delivery_channels, templates, contact_channels, subscribers, last_drill, estimates)


def report(s: Session) -> Report:
    """Run every check."""
    result = Report()
    for section in SECTIONS:
        result.checks.extend(section(s))
    return result


def as_dict(r: Report) -> dict[str, Any]:
    """Return the report as JSON-ready data."""
    return {"ready": r.ready, "at": r.at.isoformat(), "checks": [
        {"area": c.area, "name": c.name, "ok": c.ok, "detail": str(c.detail),
         "action": str(c.action)} for c in r.checks]}
