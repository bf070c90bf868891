"""An incident as one story: its notices, contact channels going down and up, the banner, who.

And the all-clear's last step: the contact channels that are back are marked up, so the banner,
the status page and the Statuspage API say the same as the message.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import auditlog, contacts
from .i18n import gettext as _
from .models import AuditEvent, ContactChannel, Incident, Notice

# A contact channel marked down this long before the first notice still belongs to the incident
# (operators mark the 020 number down first, then send), unless an earlier incident closed since.
LEAD_TIME = timedelta(hours=24)
CONTROL = ("notice.pause", "notice.resume", "notice.cancel", "notice.reroute", "notice.resend")


@dataclass(frozen=True)
class Entry:
    """One moment of an incident's story."""

    at: datetime
    kind: str  # incident | notice | control | contact | banner
    text: str
    who: str = ""
    notice: Notice | None = None


def since(s: Session, incident: Incident) -> datetime:
    """Return when the incident's story starts: shortly before it opened, after the last one."""
    previous = s.scalar(select(Incident.closed_at).where(
        Incident.id != incident.id, Incident.drill.is_(False), Incident.closed_at.is_not(None),
        Incident.closed_at <= incident.opened_at).order_by(Incident.closed_at.desc()).limit(1))
    start = incident.opened_at - LEAD_TIME
    return max(start, previous) if previous is not None else start


def _events(s: Session, actions: Iterable[str], start: datetime,
            end: datetime | None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action.in_(list(actions)),
                                     AuditEvent.at >= start).order_by(AuditEvent.id)
    if end is not None:
        query = query.where(AuditEvent.at <= end)
    return list(s.scalars(query))


def down_during(s: Session, incident: Incident) -> list[ContactChannel]:
    """Return the contact channels marked down in this incident that are still down."""
    marked = {e.subject.partition(":")[2] for e in _events(s, ["contact.state"], since(s, incident),
                                                           incident.closed_at)
              if (e.detail or {}).get("new") == "down"}
    return [c for c in contacts.all_contacts(s) if c.state == "down" and c.key in marked]


def restore(s: Session, keys: Iterable[str]) -> list[str]:
    """Mark contact channels up again (the all-clear's "these are back"); return those changed."""
    changed = []
    for key in dict.fromkeys(keys):
        contact = s.scalar(select(ContactChannel).where(ContactChannel.key == key))
        if contact is not None and contact.state != "up":
            contacts.set_state(s, key, "up")
            changed.append(key)
    return changed


def story(s: Session, incident: Incident, language: str) -> list[Entry]:
    """Return every moment of an incident, oldest first."""
    labels = auditlog.contact_labels(s, language)
    entries = [Entry(incident.opened_at, "incident",
                     _("Incident opened: %(title)s", title=incident.title),
                     auditlog.who(incident.opened_by))]
    entries += [Entry(n.created_at, "notice", "", auditlog.who(n.created_by), n)
                for n in incident.notices]
    subjects = {f"notice:{n.id}" for n in incident.notices}
    entries += [Entry(e.at, "control", auditlog.sentence(e, labels), auditlog.who(e.actor))
                for e in _events(s, CONTROL, incident.opened_at, None) if e.subject in subjects]
    end = incident.closed_at + timedelta(minutes=1) if incident.closed_at else None
    entries += [Entry(e.at, "contact", auditlog.sentence(e, labels), auditlog.who(e.actor))
                for e in _events(s, ["contact.state"], since(s, incident), end)]
    if not incident.drill:
        entries += _banner(s, incident)
    if incident.closed_at is not None:
        entries.append(Entry(incident.closed_at, "incident", _("Incident closed by the all-clear"),
                             _closer(s, incident)))
    return sorted(entries, key=lambda e: (e.at, _ORDER.get(e.kind, 9)))


_ORDER = {"incident": 0, "contact": 1, "notice": 2, "control": 3, "banner": 4}


def _closer(s: Session, incident: Incident) -> str:
    event = s.scalar(select(AuditEvent).where(AuditEvent.action == "incident.close",
                                              AuditEvent.subject == f"incident:{incident.id}")
                     .order_by(AuditEvent.id.desc()).limit(1))
    return auditlog.who(event.actor) if event is not None else ""


def _banner(s: Session, incident: Incident) -> list[Entry]:
    """Return when the banner began to show this incident, changed notice, and stopped."""
    out: list[Entry] = []
    shown: Any = None
    for event in _events(s, ["banner.publish"], incident.opened_at, None):
        detail = event.detail or {}
        mine = [n for n, i in zip(detail.get("notices") or [], detail.get("incidents") or [],
                                  strict=False) if i == incident.id]
        if mine and mine != shown:
            out.append(Entry(event.at, "banner",
                             _("The website banner shows notice %(id)s", id=mine[0])))
        elif not mine and shown:
            out.append(Entry(event.at, "banner", _("The website banner no longer shows this "
                                                   "incident")))
            if incident.closed_at is not None:
                break
        shown = mine or None
    return out


def open_incidents(s: Session) -> list[Incident]:
    """Return the open incidents, newest first."""
    return list(s.scalars(select(Incident).where(Incident.state == "open")
                          .order_by(Incident.id.desc())))

