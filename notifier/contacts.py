"""The contact-channel registry: the company's own phone numbers, chat, email, web form, office."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .clock import utcnow
from .errors import NotifierError
from .library import ContactOption
from .models import ContactChannel

KINDS = ("phone", "chat", "email", "webform", "office", "social")
STATES = ("up", "down", "unknown")


class ContactError(NotifierError):
    """A contact channel is unknown or its definition is invalid."""


@dataclass(frozen=True)
class ContactDefinition:
    """What an admin registers for one contact channel."""

    key: str
    kind: str
    label_sv: str
    label_en: str
    value: str
    state: str = "up"
    # The operators and platforms it needs: the 020 number's "nordtel-in", the chat's SaaS, ...
    depends_on: tuple[str, ...] = field(default_factory=tuple)


def all_contacts(s: Session) -> list[ContactChannel]:
    """Return every contact channel in display order."""
    return list(s.scalars(select(ContactChannel).order_by(ContactChannel.position, ContactChannel.id)))


def options(s: Session) -> dict[str, ContactOption]:
    """Return the registry as the message library sees it."""
    return {c.key: ContactOption(key=c.key, kind=c.kind, label={"sv": c.label_sv, "en": c.label_en},
                                 value=c.value, state=c.state) for c in all_contacts(s)}


def href(kind: str, value: str) -> str | None:
    """Return the link a customer taps for this contact channel, or None (an office)."""
    if kind == "phone":
        return "tel:" + value
    if kind == "email":
        return "mailto:" + value
    if value.startswith("https://"):
        return value
    return None


def _normalise(d: ContactDefinition) -> ContactDefinition:
    if d.kind not in KINDS:
        raise ContactError(f"Contact channel {d.key!r}: kind must be one of {', '.join(KINDS)}.")
    if d.state not in STATES:
        raise ContactError(f"Contact channel {d.key!r}: state must be up, down or unknown.")
    value = d.value.strip()
    if d.kind == "phone":
        try:
            num = phonenumbers.parse(value, "SE")
        except phonenumbers.NumberParseException:
            num = None
        if num is None or not phonenumbers.is_valid_number(num):
            raise ContactError(f"Contact channel {d.key!r}: {value!r} is not a valid phone number.")
        value = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    elif d.kind in ("chat", "webform", "social") and not value.startswith("https://"):
        raise ContactError(f"Contact channel {d.key!r}: the link must start with https://.")
    return ContactDefinition(d.key, d.kind, d.label_sv, d.label_en, value, d.state,
                             check_dependencies(d.key, d.depends_on))


def register(s: Session, d: ContactDefinition) -> ContactChannel:
    """Add a contact channel or update the one with the same key."""
    d = _normalise(d)
    contact = s.scalar(select(ContactChannel).where(ContactChannel.key == d.key))
    if contact is None:
        contact = ContactChannel(key=d.key, position=len(all_contacts(s)))
        s.add(contact)
    contact.kind, contact.value, contact.state = d.kind, d.value, d.state
    contact.label_sv, contact.label_en = d.label_sv, d.label_en
    contact.depends_on = list(d.depends_on)
    contact.verified_at = utcnow()
    audit.record(s, "contact.register", f"contact:{d.key}", state=d.state,
                 depends_on=list(d.depends_on))
    return contact


def set_state(s: Session, key: str, state: str) -> ContactChannel:
    """Mark a contact channel up, down or unknown."""
    if state not in STATES:
        raise ContactError(f"State must be up, down or unknown, not {state!r}.")
    contact = s.scalar(select(ContactChannel).where(ContactChannel.key == key))
    if contact is None:
        known = ", ".join(c.key for c in all_contacts(s)) or "none registered"
        raise ContactError(f"No contact channel {key!r}. Known keys: {known}.")
    if contact.state != state:
        audit.record(s, "contact.state", f"contact:{key}", old=contact.state, new=state)
        contact.state = state
    contact.verified_at = utcnow()  # someone looked at it just now
    return contact


DEPENDENCY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def check_dependencies(key: str, names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return dependency names normalised, or refuse one that is not a short lowercase name."""
    clean = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    bad = [n for n in clean if not DEPENDENCY.match(n)]
    if bad or len(clean) > 20:
        raise ContactError(f"Contact channel {key!r}: dependencies are up to 20 short names of "
                           "lowercase letters, digits, '.', '_' and '-' (e.g. nordtel, "
                           f"chat-saas); {', '.join(bad) or 'too many'} is not.")
    return clean


def set_dependencies(s: Session, key: str, names: list[str]) -> ContactChannel:
    """Record what a contact channel depends on (operators, platforms, suppliers)."""
    contact = find(s, key)
    contact.depends_on = list(check_dependencies(key, names))
    audit.record(s, "contact.dependencies", f"contact:{key}", depends_on=contact.depends_on)
    return contact


def verify(s: Session, key: str) -> ContactChannel:
    """Record that someone checked the contact channel works as registered."""
    contact = find(s, key)
    contact.verified_at = utcnow()
    audit.record(s, "contact.verify", f"contact:{key}")
    return contact


def find(s: Session, key: str) -> ContactChannel:
    """Return the contact channel with this key, or say which keys exist."""
    contact = s.scalar(select(ContactChannel).where(ContactChannel.key == key))
    if contact is None:
        known = ", ".join(c.key for c in all_contacts(s)) or "none registered"
        raise ContactError(f"No contact channel {key!r}. Known keys: {known}.")
    return contact


def depending_on(s: Session, dependency: str) -> list[ContactChannel]:
    """Return every contact channel that fails when this dependency fails."""
    wanted = dependency.strip().lower()
    return [c for c in all_contacts(s) if wanted in (c.depends_on or [])]


def shared_dependencies(s: Session) -> dict[str, list[ContactChannel]]:
    """Return each dependency that two or more contact channels share, with those channels."""
    found: dict[str, list[ContactChannel]] = {}
    for c in all_contacts(s):
        for name in c.depends_on or []:
            found.setdefault(str(name), []).append(c)
    return {name: cs for name, cs in sorted(found.items()) if len(cs) > 1}


def set_dependency_state(s: Session, dependency: str, state: str) -> list[ContactChannel]:
    """Mark every contact channel that depends on it up or down at once; return those changed."""
    changed = []
    for c in depending_on(s, dependency):
        if c.state != state:
            set_state(s, c.key, state)
            changed.append(c)
    audit.record(s, "dependency.state", f"dependency:{dependency}", state=state,
                 contacts=[c.key for c in changed])
    return changed


def move(s: Session, key: str, direction: str) -> None:
    """Move a contact channel one place up or down in the order every page shows."""
    ordered = all_contacts(s)
    index = next((i for i, c in enumerate(ordered) if c.key == key), None)
    if index is None:
        raise ContactError(f"No contact channel {key!r}.")
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, contact in enumerate(ordered):
        contact.position = position
    audit.record(s, "contact.move", f"contact:{key}", direction=direction)
