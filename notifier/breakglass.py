"""Break-glass: one time-limited admin for the day signing in itself fails.

The server's operator (someone with a shell where the notifier runs, who could read the
database anyway) creates it with `notifier break-glass EMAIL`. It needs no second factor, ends
by itself, replaces any earlier break-glass account, is audited, and every other admin is told
by email at once, so a misuse cannot go unnoticed.
"""
from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import accounts, audit, clock
from .channels.base import AdapterSettings, Message, Result
from .channels.email import EmailAdapter
from .config import ProviderSettings
from .errors import NotifierError
from .models import Role, User, utcnow

MAX_HOURS = 24


class BreakGlassError(NotifierError):
    """The break-glass account could not be created."""


@dataclass(frozen=True)
class BreakGlass:
    """The account made, its one-time password, when it ends and whom to tell."""

    email: str
    password: str
    expires_at: datetime
    admins: list[str]
    who: str


def create(s: Session, email: str, hours: float, who: str) -> BreakGlass:
    """Create the time-limited admin; disable any earlier break-glass account."""
    if not 0 < hours <= MAX_HOURS:
        raise BreakGlassError(f"--hours must be more than 0 and at most {MAX_HOURS}.")
    if accounts.exists(s, email):
        raise BreakGlassError(f"An account for {email} exists already: give another address "
                              f"(for example {email.replace('@', '+breakglass@', 1)}).")
    for earlier in s.scalars(select(User).where(User.expires_at.is_not(None), User.active)):
        earlier.active = False
        audit.record(s, "user.break_glass_end", f"user:{earlier.email}", who=who)
    password = secrets.token_urlsafe(15)
    user = accounts.create_user(s, email, Role.ADMIN.value, password, name="Break-glass admin")
    user.expires_at = utcnow() + timedelta(hours=hours)
    admins = [u.email for u in s.scalars(select(User).where(
        User.role == Role.ADMIN.value, User.active, User.email != user.email,
        User.expires_at.is_(None)))]
    audit.record(s, "user.break_glass", f"user:{user.email}", who=who,
                 expires=clock.local(user.expires_at), told=len(admins))
    return BreakGlass(user.email, password, user.expires_at, admins, who)


def operator() -> str:
    """Name the person at the server: OS user and host, for the audit log and the email."""
    who = audit.actor().removeprefix("cli:")
    return f"cli:{who}@{socket.gethostname()}"


def notify(made: BreakGlass, settings: ProviderSettings, public_url: str) -> list[str]:
    """Email every other admin through SendGrid; return the addresses it could not reach."""
    subject = f"notifier: break-glass admin {made.email} created"
    text = (f"A break-glass admin account, {made.email}, was created on the server by "
            f"{made.who.removeprefix('cli:')} at {clock.local(utcnow())} (Swedish time). It ends "
            f"at {clock.local(made.expires_at)}.\n\nIf nobody you know asked for it, disable it "
            f"at once in {public_url}/account/users and find out who has access to the server.\n"
            f"\n(Ett nödkonto för admin har skapats. Om ingen du känner bad om det: stäng av det "
            f"direkt och ta reda på vem som har tillgång till servern.)")
    messages = [Message(i + 1, address, "en", text, subject=subject)
                for i, address in enumerate(made.admins)]
    if not messages:
        return []
    adapter = EmailAdapter(AdapterSettings(settings))
    try:
        outcomes = adapter.send(messages)
    finally:
        adapter.close()
    return [m.address for m, o in zip(messages, outcomes, strict=True)
            if o.result is not Result.SENT]
