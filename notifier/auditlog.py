"""The audit log as people read it: one sentence per event in their language, filters, CSV.

`audit.record` writes events with a code and a detail dict; this module turns them into
"operator@… confirmed notice 12 (phone-lines-down, version 1)". An event of a kind it does not
know yet is still shown, as its code and details in plain text.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from . import clock, vocabulary
from .i18n import gettext as _
from .models import AuditEvent, ContactChannel

SENTENCES: dict[str, Any] = {
    "notice.confirm": _l("%(who)s confirmed notice %(id)s (%(template)s, version %(version)s)"),
    "notice.start": _l("Notice %(id)s started: %(deliveries)s deliveries planned, %(superseded)s "
                       "unsent deliveries of earlier notices cancelled"),
    "notice.pause": _l("%(who)s paused notice %(id)s"),
    "notice.resume": _l("%(who)s resumed notice %(id)s"),
    "notice.cancel": _l("%(who)s cancelled notice %(id)s: %(cancelled)s unsent deliveries "
                        "stopped"),
    "notice.reroute": _l("%(who)s sent the rest of notice %(id)s by %(to)s instead of "
                         "%(from)s (%(created)s deliveries)"),
    "notice.resend": _l("%(who)s sent notice %(id)s by %(to)s to those who did not get it "
                        "(%(created)s deliveries)"),
    "incident.open": _l("%(who)s opened the incident “%(title)s”"),
    "incident.close": _l("%(who)s closed incident %(id)s with the all-clear"),
    "contact.state": _l("%(who)s marked %(contact)s %(new)s (was %(old)s)"),
    "contact.register": _l("%(who)s registered or changed the contact channel %(contact)s"),
    "contact.move": _l("%(who)s moved the contact channel %(contact)s %(direction)s"),
    "banner.publish": _l("The website banner changed: %(shown)s"),
    "template.draft": _l("%(who)s imported %(id)s as draft version %(version)s"),
    "template.edit": _l("%(who)s edited %(id)s into draft version %(version)s"),
    "template.create": _l("%(who)s wrote the new template %(id)s (draft version %(version)s)"),
    "template.approve": _l("%(who)s approved %(id)s version %(version)s"),
    "template.reject": _l("%(who)s rejected %(id)s version %(version)s: “%(comment)s”"),
    "template.retire": _l("%(id)s version %(version)s was retired (version %(replaced_by)s "
                          "replaces it)"),
    "user.create": _l("%(who)s created the account %(id)s (%(role)s)"),
    "user.invite": _l("%(who)s invited %(id)s as %(role)s"),
    "user.password": _l("A new password was set for %(id)s"),
    "user.reset": _l("%(who)s made a password reset link for %(id)s"),
    "user.role": _l("%(who)s made %(id)s %(role)s (was %(old)s)"),
    "user.deactivate": _l("%(who)s deactivated the account %(id)s"),
    "user.reactivate": _l("%(who)s reactivated the account %(id)s"),
    "subscribers.import": _l("%(who)s imported subscribers: %(added)s added, %(updated)s "
                             "updated, %(refused)s refused"),
}
# Filters of the audit log page: what each covers.
GROUPS: dict[str, Any] = {
    "notice": _l("Notices"), "incident": _l("Incidents"), "contact": _l("Contact channels"),
    "banner": _l("Website banner"), "template": _l("Templates"), "user": _l("Accounts"),
    "subscribers": _l("Subscribers"),
}
PAGE_SIZE = 100


class _Blank(dict[str, Any]):
    """Fill a sentence's missing detail with a dash rather than failing."""

    def __missing__(self, key: str) -> str:
        return "-"


def who(actor: str) -> str:
    """Name who acted as a person reads it."""
    kind, _sep, name = actor.partition(":")
    if kind == "user":
        return name
    if kind == "cli":
        return _("%(name)s (command line)", name=name)
    if kind == "api":
        return _("%(name)s (API)", name=name)
    if actor in ("scheduler", "worker", "banner", "reconciler"):
        return _("the notifier")
    return actor


def _channel(code: Any) -> str:
    return vocabulary.name(vocabulary.CHANNEL, str(code))


def sentence(event: AuditEvent, contacts: Mapping[str, str] | None = None) -> str:
    """Say what an audit event records, in the current language."""
    detail = dict(event.detail or {})
    ident = event.subject.partition(":")[2] or detail.get("title", "")
    contact = contacts.get(ident, ident) if contacts else ident
    values = _Blank({**{k: _plain(v) for k, v in detail.items()}, "who": who(event.actor),
                     "id": ident, "contact": contact})
    for key in ("new", "old", "state"):
        if key in detail:
            values[key] = vocabulary.name(vocabulary.CONTACT_STATE, str(detail[key]))
    for key in ("to_channel", "from_channel"):
        if key in detail:
            values[key.split("_")[0]] = _channel(detail[key])
    for key in ("role", "old"):
        if event.action.startswith("user.") and key in detail:
            values[key] = vocabulary.name(vocabulary.ROLE, str(detail[key]))
    if event.action == "banner.publish":
        values["shown"] = _shown(detail)
    if event.action == "contact.move":
        values["direction"] = _("up") if detail.get("direction") == "up" else _("down")
    template = SENTENCES.get(event.action)
    if template is None:
        extra = ", ".join(f"{k}: {_plain(v)}" for k, v in detail.items())
        return f"{who(event.actor)}: {event.action} {event.subject}" + (f" ({extra})" if extra else "")
    return str(template) % values


def _shown(detail: Mapping[str, Any]) -> str:
    notices = detail.get("notices") or []
    if not notices:
        return _("no banner is shown")
    return _("it shows notice %(ids)s", ids=", ".join(str(n) for n in notices))


def _plain(value: Any) -> str:
    """Show a detail value as text a person reads (lists joined, no JSON escapes)."""
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Filters:
    """What the audit log page narrows to."""

    group: str = ""
    actor: str = ""
    text: str = ""
    since: datetime | None = None
    until: datetime | None = None  # exclusive

    def query(self) -> Select[AuditEvent]:
        """Return the events matching these filters, newest first."""
        q = select(AuditEvent).order_by(AuditEvent.id.desc())
        if self.group in GROUPS:
            q = q.where(AuditEvent.action.like(f"{self.group}.%"))
        if self.actor.strip():
            q = q.where(func.lower(AuditEvent.actor).like(f"%{self.actor.strip().lower()}%"))
        if self.text.strip():
            like = f"%{self.text.strip().lower()}%"
            q = q.where(or_(func.lower(AuditEvent.subject).like(like),
                            func.lower(AuditEvent.action).like(like)))
        if self.since is not None:
            q = q.where(AuditEvent.at >= self.since)
        if self.until is not None:
            q = q.where(AuditEvent.at < self.until)
        return q


def day(text: str, end: bool = False) -> datetime | None:
    """Read a date (YYYY-MM-DD, Swedish time) as the start of that day, or of the next one."""
    if not text.strip():
        return None
    moment = clock.parse_local(text.strip()[:10] + " 00:00")
    return moment + timedelta(days=1) if end else moment


def contact_labels(s: Session, language: str) -> dict[str, str]:
    """Return each contact channel's label in a language, by key."""
    return {c.key: (c.label_sv if language == "sv" else c.label_en)
            for c in s.scalars(select(ContactChannel))}


@dataclass(frozen=True)
class Page:
    """One page of the audit log."""

    events: list[AuditEvent]
    page: int
    more: bool


def page(s: Session, filters: Filters, number: int = 1) -> Page:
    """Return one page of the filtered audit log, newest first."""
    number = max(1, number)
    rows = list(s.scalars(filters.query().limit(PAGE_SIZE + 1)
                          .offset((number - 1) * PAGE_SIZE)))
    return Page(rows[:PAGE_SIZE], number, len(rows) > PAGE_SIZE)


def rows(s: Session, filters: Filters, language: str) -> Iterator[list[str]]:
    """Yield every filtered event as a CSV row: when (Swedish time), who, what, code, subject."""
    labels = contact_labels(s, language)
    for event in s.scalars(filters.query().execution_options(yield_per=500)):
        yield [clock.local(event.at, seconds=True), who(event.actor),
               sentence(event, labels), event.action, event.subject]
