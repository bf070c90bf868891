"""A person's data (GDPR): everything we hold about them as JSON, and erasure.

Erasure deletes rows, it does not blank them: the subscriber, their subscriptions and segments,
the deliveries to their addresses, what they wrote, their pending sign-ups. Per-notice totals
are frozen first, so reports keep their numbers. An address another subscriber shares (a
household's number) stays on that person's deliveries. SQLite overwrites deleted content
(`secure_delete`) and the write-ahead log is truncated afterwards, so the file keeps no copy.
Redis never holds an address (jobs carry ids; throttles key on HMACs), nor do the logs.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, text, tuple_, update
from sqlalchemy.orm import Session

from . import audit, clock, db, totals
from .addresses import AddressError, normalise
from .audience import directory
from .errors import NotifierError
from .models import Delivery, InboxMessage, Signup, Subscriber, Subscription

log = logging.getLogger(__name__)


class PersonNotFoundError(NotifierError):
    """No subscriber matches what was asked for."""


@dataclass(frozen=True)
class Erased:
    """What an erasure deleted (counts only: the report names nobody)."""

    subscriber_id: int
    subscriptions: int
    deliveries: int
    messages: int
    signups: int
    notices_frozen: int


def find(s: Session, *, subscriber_id: int | None = None, external_id: str | None = None,
         phone: str | None = None, email: str | None = None,
         telegram: str | None = None) -> list[int]:
    """Return the ids of the subscribers one of these identifies (an address may be shared)."""
    if subscriber_id is not None:
        found = [subscriber_id] if s.get(Subscriber, subscriber_id) else []
    elif external_id:
        found = list(s.scalars(select(Subscriber.id).where(Subscriber.external_id == external_id)))
    else:
        channel, raw = next(((c, v) for c, v in (("sms", phone), ("email", email),
                                                  ("telegram", telegram)) if v), ("", ""))
        if not channel:
            raise NotifierError("Name the person: --id, --external-id, --phone, --email or "
                                "--telegram.")
        try:
            address = normalise(channel, raw)
        except AddressError as exc:
            raise NotifierError(f"{exc}: give it as stored, or use --id.") from None
        found = list(s.scalars(select(Subscription.subscriber_id).distinct().where(
            Subscription.channel == channel, Subscription.address == address)))
    if not found:
        raise PersonNotFoundError("No subscriber matches: `notifier subscribers export` takes "
                                  "--id, --external-id, --phone, --email or --telegram.")
    return sorted(found)


def _time(moment: Any) -> str | None:
    return None if moment is None else clock.aware(moment).isoformat()


def export(s: Session, subscriber_id: int) -> dict[str, Any]:
    """Return everything held about one subscriber, as JSON-ready data (times in UTC, ISO 8601)."""
    found = directory.person(s, subscriber_id)
    if found is None:
        raise PersonNotFoundError(f"No subscriber #{subscriber_id}.")
    p = found.subscriber
    return {
        "subscriber": {"id": p.id, "external_id": p.external_id, "name": p.name,
                       "language": p.language, "created_at": _time(p.created_at)},
        "segments": found.segments,
        "subscriptions": [{"channel": x.channel, "address": x.address, "status": x.status,
                           "status_reason": x.status_reason, "consent_source": x.consent_source,
                           "consented_at": _time(x.consented_at),
                           "created_at": _time(x.created_at)} for x in found.subscriptions],
        "received": [{"notice": n.id, "template": n.template_key, "kind": n.kind,
                      "drill": n.drill, "channel": d.channel, "address": d.address,
                      "status": d.status, "sent_at": _time(d.sent_at),
                      "delivered_at": _time(d.delivered_at), "error_code": d.error_code}
                     for d, n in found.received],
        "messages": [{"channel": m.channel, "text": m.text, "received_at": _time(m.received_at)}
                     for m in found.inbox],
        "signups": [{"created_at": _time(x.created_at), "phone": x.phone, "email": x.email,
                     "language": x.language} for x in s.scalars(
                         select(Signup).where(Signup.subscriber_id == subscriber_id))],
    }


def erase(s: Session, subscriber_id: int) -> Erased:
    """Delete a subscriber and every row about them; freeze the totals of notices they were in."""
    subs = list(s.execute(select(Subscription.id, Subscription.channel, Subscription.address)
                          .where(Subscription.subscriber_id == subscriber_id)))
    if s.get(Subscriber, subscriber_id) is None:
        raise PersonNotFoundError(f"No subscriber #{subscriber_id}.")
    pairs = {(c, a) for _i, c, a in subs}
    shared = {(c, a) for c, a in s.execute(
        select(Subscription.channel, Subscription.address).where(
            tuple_(Subscription.channel, Subscription.address).in_(list(pairs)),
            Subscription.subscriber_id != subscriber_id))} if pairs else set()
    own = sorted(pairs - shared)
    mine = tuple_(Delivery.channel, Delivery.address).in_(own) if own else None
    notices = sorted(set(s.scalars(select(Delivery.notice_id).distinct().where(mine)))) \
        if mine is not None else []
    totals.freeze(s, notices)
    deliveries = 0
    if mine is not None:
        gone = select(Delivery.id).where(mine).scalar_subquery()
        s.execute(update(Delivery).where(Delivery.fallback_of.in_(gone)).values(fallback_of=None))
        deliveries = db.rowcount(s.execute(delete(Delivery).where(mine)))
    s.execute(update(Delivery).where(Delivery.subscription_id.in_([i for i, _c, _a in subs]))
              .values(subscription_id=None))
    messages = _delete_messages(s, subscriber_id, own)
    signups = _delete_signups(s, subscriber_id, own)
    s.execute(delete(Subscriber).where(Subscriber.id == subscriber_id))  # cascades
    result = Erased(subscriber_id, len(subs), deliveries, messages, signups, len(notices))
    audit.record(s, "subscriber.erase", f"subscriber:{subscriber_id}",
                 **{k: v for k, v in asdict(result).items() if k != "subscriber_id"})
    return result


def _delete_messages(s: Session, subscriber_id: int, own: list[tuple[str, str]]) -> int:
    cond = InboxMessage.subscriber_id == subscriber_id
    if own:
        cond = or_(cond, tuple_(InboxMessage.channel, InboxMessage.address).in_(own))
    return db.rowcount(s.execute(delete(InboxMessage).where(cond)))


def _delete_signups(s: Session, subscriber_id: int, own: list[tuple[str, str]]) -> int:
    phones = [a for c, a in own if c == "sms"]
    emails = [a for c, a in own if c == "email"]
    cond = or_(Signup.subscriber_id == subscriber_id, Signup.phone.in_(phones),
               func.lower(Signup.email).in_(emails))
    return db.rowcount(s.execute(delete(Signup).where(cond)))


def compact() -> bool:
    """Make the database file forget deleted rows now (SQLite: truncate the write-ahead log).

    The log still holds the rows' old pages until a checkpoint copies the new ones into the
    file and truncates it. That waits for readers (up to the busy timeout), so this request's
    own session is closed first. Returns False if some reader kept the log from being emptied.
    """
    engine = db.engine()
    if engine.dialect.name != "sqlite":
        return True
    db.session().close()
    with engine.connect() as conn:
        busy, _log, _done = conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    if busy:
        log.warning("erasure: the write-ahead log could not be emptied yet (a long reader); "
                    "it will be at the next checkpoint")
    return not busy
