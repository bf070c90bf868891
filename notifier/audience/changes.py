"""What a chunk of import rows changes, planned in memory and written with a few bulk statements."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..models import Delivery, Segment, Subscriber, SubscriberSegment, Subscription
from ..texts import _l
from .matching import Known, Person, Sub, Touched
from .rows import ImportRow, RowError

ADDED, UPDATED, UNCHANGED = "added", "updated", "unchanged"


class Segments:
    """Segment keys and ids, creating a segment the first time a row names it."""

    def __init__(self, s: Session) -> None:
        self.ids: dict[str, int] = {k: i for i, k in s.execute(select(Segment.id, Segment.key))}
        self.new: list[str] = []

    def ids_of(self, s: Session, keys: list[str]) -> set[int]:
        """Return the ids of these segments, creating the unknown ones."""
        for key in keys:
            if key not in self.ids:
                self.ids[key] = int(s.execute(insert(Segment).values(key=key)
                                              .returning(Segment.id)).scalar_one())
                self.new.append(key)
        return {self.ids[k] for k in keys}


@dataclass
class Changes:
    """Everything one chunk writes."""

    new_people: list[Person] = field(default_factory=list)
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    new_subs: list[tuple[int, str, str]] = field(default_factory=list)
    deleted_subs: list[int] = field(default_factory=list)
    segments_added: list[tuple[int, int]] = field(default_factory=list)
    segments_removed: list[tuple[int, int]] = field(default_factory=list)


def plan(s: Session, row: ImportRow, person: Person | None, known: Known, changes: Changes,
         segments: Segments) -> str:
    """Plan one row's changes; return whether it adds, updates or leaves the subscriber as is."""
    if person is None:
        if not row.addresses and row.invalid:
            raise RowError(_l("%(why)s; a new subscriber needs at least one usable phone, "
                              "email or telegram_chat_id"), why=row.invalid[0])
        if not row.addresses:
            raise RowError(_l("no phone, email or telegram_chat_id: a new subscriber needs at "
                              "least one"))
        person = Person(-len(changes.new_people) - 1, row.name, row.language or "sv",
                        row.external_id)
        changes.new_people.append(person)
        known.add(person)
        _plan_addresses(row, person, known, changes)
        if row.segments:
            changes.segments_added += [(person.id, i) for i in segments.ids_of(s, row.segments)]
        return ADDED
    changed = _plan_fields(row, person, changes)
    changed |= _plan_addresses(row, person, known, changes)
    if row.segments is not None:
        changed |= _plan_segments(s, person, segments.ids_of(s, row.segments), changes)
    return UPDATED if changed else UNCHANGED


def _plan_fields(row: ImportRow, person: Person, changes: Changes) -> bool:
    fields: dict[str, Any] = {}
    if row.name != person.name:
        fields["name"] = row.name
    if row.language and row.language != person.language:
        fields["language"] = row.language
    if row.external_id and not person.external_id:
        fields["external_id"] = row.external_id
    if fields:
        changes.updates.setdefault(person.id, {}).update(fields)
    return bool(fields)


def _plan_addresses(row: ImportRow, person: Person, known: Known, changes: Changes) -> bool:
    """Make the row's addresses the person's, channel by channel, for the columns it has.

    Only active subscriptions the import itself made are replaced: an opt-out, a bounce or a
    block survives, and so does an address the person gave on the sign-up page or to the bot.
    """
    changed = False
    for channel in sorted(set(row.addresses) | row.cleared):
        wanted = row.addresses.get(channel)
        have = [sub for sub in person.subscriptions if sub.channel == channel]
        if wanted and not any(sub.address == wanted for sub in have):
            changes.new_subs.append((person.id, channel, wanted))
            known.add_address(person, Sub(None, channel, wanted, "active", "import"))
            changed = True
        for sub in have:
            if sub.address != wanted and sub.status == "active" and sub.consent_source == "import" \
                    and sub.id is not None:
                changes.deleted_subs.append(sub.id)
                person.subscriptions.remove(sub)
                known.by_address[(channel, sub.address)].discard(person.id)
                changed = True
    return changed


def _plan_segments(s: Session, person: Person, wanted: set[int], changes: Changes) -> bool:
    added, removed = wanted - person.segments, person.segments - wanted
    changes.segments_added += [(person.id, i) for i in sorted(added)]
    changes.segments_removed += [(person.id, i) for i in sorted(removed)]
    person.segments = set(wanted)
    return bool(added or removed)


def write(s: Session, changes: Changes, touched: Touched) -> None:
    """Write a chunk's changes: a handful of statements, whatever the number of rows."""
    now = utcnow()
    real = _insert_people(s, changes.new_people, now)
    for person_id in list(changes.updates) + list(real.values()):
        touched.add(person_id)
    touched.forget_new()

    def rid(i: int) -> int:
        return real.get(i, i)

    by_keys: defaultdict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for person_id, fields in changes.updates.items():
        by_keys[tuple(sorted(fields))].append({"id": person_id, **fields})
    for params in by_keys.values():
        s.execute(update(Subscriber), params)
    if changes.deleted_subs:
        # Deliveries keep a plain reference to their subscription: clear it before the row goes.
        s.execute(update(Delivery).where(Delivery.subscription_id.in_(changes.deleted_subs))
                  .values(subscription_id=None))
        s.execute(delete(Subscription).where(Subscription.id.in_(changes.deleted_subs)))
    if changes.new_subs:
        s.execute(insert(_table(Subscription)), [
            {"subscriber_id": rid(p), "channel": c, "address": a, "status": "active",
             "consent_source": "import", "consented_at": now, "created_at": now,
             "updated_at": now} for p, c, a in changes.new_subs])
    if changes.segments_removed:
        s.execute(delete(SubscriberSegment).where(
            tuple_(SubscriberSegment.subscriber_id, SubscriberSegment.segment_id)
            .in_(changes.segments_removed)))
    if changes.segments_added:
        s.execute(insert(_table(SubscriberSegment)), [{"subscriber_id": rid(p), "segment_id": g}
                                              for p, g in changes.segments_added])


def _table(model: type[Any]) -> Table:
    """Return a model's table: Core inserts skip the ORM's per-row bookkeeping on bulk writes."""
    return cast(Table, model.__table__)


def _insert_people(s: Session, people: list[Person], now: Any) -> dict[int, int]:
    """Insert the new subscribers; return temporary id -> real id."""
    if not people:
        return {}
    table = _table(Subscriber)
    ids = s.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), [
        {"name": p.name, "language": p.language, "external_id": p.external_id, "created_at": now}
        for p in people]).all()
    return {p.id: int(i) for p, i in zip(people, ids, strict=True)}
