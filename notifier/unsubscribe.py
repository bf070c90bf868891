"""One-click unsubscribe (RFC 8058): signed links in every email, and what they do.

The link names a subscription by id, signed with the app's secret (no address in any URL, so
none in a proxy's log); it never expires, as a link in an old email must still work. Using it
opts that address out on that delivery channel, for every subscriber who shares it.
"""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import receipts
from .models import Subscriber, Subscription

SALT = "notifier.unsubscribe"
REASON = "one-click unsubscribe link in an email"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token(subscription_id: int) -> str:
    """Return the signed token naming one subscription."""
    return str(_serializer().dumps(subscription_id))


def url(subscription_id: int) -> str:
    """Return the public one-click unsubscribe URL of a subscription."""
    return f"{current_app.config['PUBLIC_URL']}/unsubscribe/{token(subscription_id)}"


def subscription_of(raw: str) -> int | None:
    """Return the subscription id a token names, or None for a token we did not sign."""
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def language_of(s: Session, subscription_id: int) -> str | None:
    """Return the language of the subscription's subscriber (None if it no longer exists)."""
    return s.scalar(select(Subscriber.language).join(Subscription)
                    .where(Subscription.id == subscription_id))


def leave(s: Session, subscription_id: int) -> None:
    """Opt the subscription's address out; nothing happens for one that is gone (erased)."""
    found = s.execute(select(Subscription.channel, Subscription.address)
                      .where(Subscription.id == subscription_id)).first()
    if found is not None:
        receipts.mark_address(s, found[0], found[1], "opted_out", REASON)
