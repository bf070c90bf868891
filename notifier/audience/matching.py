"""Who an import row is: the subscriber with its external_id, else the one with its addresses.

Everything a chunk of rows may match is loaded in a few queries (by external id, by address),
then each row is matched in memory. A row never changes a subscriber an earlier row of the same
file changed: that is a duplicate line, or another person sharing an address (a household).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Subscriber, SubscriberSegment, Subscription
from ..texts import _l
from .rows import ImportRow, RowError

COLUMN_OF_CHANNEL = {"sms": "phone", "email": "email", "telegram": "telegram_chat_id"}
CHANNEL_ORDER = list(COLUMN_OF_CHANNEL)


@dataclass
class Sub:
    """One subscription as the import sees it."""

    id: int | None
    channel: str
    address: str
    status: str
    consent_source: str


@dataclass
class Person:
    """One subscriber as the import sees it (a negative id: new in this chunk)."""

    id: int
    name: str
    language: str
    external_id: str | None
    subscriptions: list[Sub] = field(default_factory=list)
    segments: set[int] = field(default_factory=set)


class Known:
    """The subscribers a chunk of rows may match, indexed by external id and by address."""

    def __init__(self) -> None:
        self.people: dict[int, Person] = {}
        self.by_external: dict[str, int] = {}
        self.by_address: defaultdict[tuple[str, str], set[int]] = defaultdict(set)

    def add(self, person: Person) -> None:
        """Index a person and its subscriptions."""
        self.people[person.id] = person
        if person.external_id:
            self.by_external[person.external_id] = person.id
        for sub in person.subscriptions:
            self.by_address[(sub.channel, sub.address)].add(person.id)

    def add_address(self, person: Person, sub: Sub) -> None:
        """Give a person one more subscription."""
        person.subscriptions.append(sub)
        self.by_address[(sub.channel, sub.address)].add(person.id)


class Touched:
    """The subscribers this import has written, as a bitmap: flat memory for any file size."""

    def __init__(self) -> None:
        self._bits = bytearray()
        self._new: set[int] = set()

    def add(self, person_id: int) -> None:
        """Remember a subscriber (negative ids: new, not yet inserted)."""
        if person_id < 0:
            self._new.add(person_id)
            return
        byte = person_id >> 3
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte - len(self._bits) + 1024))
        self._bits[byte] |= 1 << (person_id & 7)

    def has(self, person_id: int) -> bool:
        """Tell whether this import already wrote that subscriber."""
        if person_id < 0:
            return person_id in self._new
        byte = person_id >> 3
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << (person_id & 7)))

    def forget_new(self) -> None:
        """Drop the temporary ids once the chunk's new subscribers have real ones."""
        self._new.clear()


def load(s: Session, rows: Sequence[ImportRow]) -> Known:
    """Load every subscriber that one of the rows names by external id or address."""
    ids: set[int] = set()
    externals = sorted({r.external_id for r in rows if r.external_id})
    if externals:
        ids.update(s.scalars(select(Subscriber.id).where(Subscriber.external_id.in_(externals))))
    by_channel: defaultdict[str, set[str]] = defaultdict(set)
    for r in rows:
        for channel, address in r.addresses.items():
            by_channel[channel].add(address)
    for channel, addresses in by_channel.items():
        ids.update(s.scalars(select(Subscription.subscriber_id).where(
            Subscription.channel == channel, Subscription.address.in_(sorted(addresses)))))
    known = Known()
    for person in _people(s, sorted(ids)):
        known.add(person)
    return known


def _people(s: Session, ids: list[int]) -> Iterable[Person]:
    if not ids:
        return []
    people = {i: Person(i, name, language, ext) for i, name, language, ext in s.execute(
        select(Subscriber.id, Subscriber.name, Subscriber.language, Subscriber.external_id)
        .where(Subscriber.id.in_(ids)))}
    for row in s.execute(select(Subscription.id, Subscription.subscriber_id, Subscription.channel,
                                Subscription.address, Subscription.status,
                                Subscription.consent_source)
                         .where(Subscription.subscriber_id.in_(ids))):
        people[row[1]].subscriptions.append(Sub(row[0], row[2], row[3], row[4], row[5]))
    for person_id, segment_id in s.execute(
            select(SubscriberSegment.subscriber_id, SubscriberSegment.segment_id)
            .where(SubscriberSegment.subscriber_id.in_(ids))):
        people[person_id].segments.add(segment_id)
    return people.values()


def _same_name(person: Person, row: ImportRow) -> bool:
    return person.name.casefold() == row.name.casefold()


def _compatible(person: Person, row: ImportRow) -> bool:
    """Tell whether a subscriber found by address may be this row (no other external id)."""
    return not (person.external_id and row.external_id and person.external_id != row.external_id)


def match(row: ImportRow, known: Known, touched: Touched) -> int | None:
    """Return the id of the subscriber this row is, None for a new one; RowError for a conflict."""
    if row.external_id and row.external_id in known.by_external:
        person_id = known.by_external[row.external_id]
        if touched.has(person_id):
            raise RowError(_l("external_id %(value)r is on an earlier line of this file too; "
                              "this row is skipped"), value=row.external_id)
        return person_id
    found = [(channel, {i for i in known.by_address.get((channel, address), ())
                        if _compatible(known.people[i], row)})
             for channel, address in sorted(row.addresses.items(),
                                            key=lambda item: CHANNEL_ORDER.index(item[0]))]
    found = [(channel, ids) for channel, ids in found if ids]
    if not found:
        return None
    common = set.intersection(*(ids for _c, ids in found))
    if not common:
        (first, a), (second, b) = found[0], found[1]
        raise RowError(_l("the %(first)s belongs to subscriber #%(a)s and the %(second)s to "
                          "subscriber #%(b)s: one row cannot be both; fix the file or the "
                          "subscribers, then import again"),
                       first=COLUMN_OF_CHANNEL[first], a=min(a), second=COLUMN_OF_CHANNEL[second],
                       b=min(b))
    return _one(row, known, touched, common, COLUMN_OF_CHANNEL[found[0][0]])


def _one(row: ImportRow, known: Known, touched: Touched, common: set[int], column: str) -> int | None:
    fresh = {i for i in common if not touched.has(i)}
    if not fresh:
        if any(_same_name(known.people[i], row) for i in common):
            raise RowError(_l("the same person as on an earlier line of this file (same name "
                              "and %(column)s); this row is skipped"), column=column)
        return None  # another person at the same address: a household member of their own
    if len(fresh) > 1:
        named = {i for i in fresh if _same_name(known.people[i], row)}
        if len(named) != 1:
            raise RowError(_l("the %(column)s belongs to %(n)d subscribers: add an external_id "
                              "column to say which one this row is"), column=column, n=len(fresh))
        fresh = named
    return fresh.pop()
