"""Subscribers, their subscriptions and segments: import and selection."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from . import audit
from .addresses import NORMALISERS, AddressError
from .errors import NotifierError
from .models import LANGUAGES, Delivery, Segment, Subscriber, SubscriberSegment, Subscription

COLUMNS = ("name", "language", "phone", "email", "telegram_chat_id", "segments")


@dataclass
class Row:
    """One subscriber as read from a CSV line, already validated."""

    name: str
    language: str
    addresses: dict[str, str]
    segments: list[str]
    external_id: str | None = None


@dataclass
class ImportReport:
    """What an import kept and what it refused, with line numbers."""

    added: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    new_segments: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_row(raw: dict[str, str | None]) -> Row:
    """Validate one CSV record; raise AddressError naming the column on a bad value."""
    def get(key: str) -> str:
        return (raw.get(key) or "").strip()

    language = get("language").lower() or "sv"
    if language not in LANGUAGES:
        raise AddressError(f"language: {language!r} is not one of {', '.join(LANGUAGES)}")
    addresses: dict[str, str] = {}
    for column, channel in (("phone", "sms"), ("email", "email"), ("telegram_chat_id", "telegram")):
        if get(column):
            try:
                addresses[channel] = NORMALISERS[channel](get(column))
            except AddressError as exc:
                raise AddressError(f"{column}: {exc}") from None
    if not addresses:
        raise AddressError("no phone, email or telegram_chat_id: give at least one")
    segments = [p.strip() for p in get("segments").split("|") if p.strip()]
    return Row(get("name"), language, addresses, segments, get("external_id") or None)


def import_csv(s: Session, text: str) -> ImportReport:
    """Import subscribers from CSV text; keep good rows, report bad ones by line number."""
    text = text.lstrip("\ufeff")
    delimiter = _delimiter(text)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    missing = [c for c in ("name", "language", "phone", "email") if c not in (reader.fieldnames or [])]
    if missing:
        raise NotifierError(f"The CSV header lacks {', '.join(missing)}: the first line must be "
                            f"{','.join(COLUMNS)} (external_id optional; commas or semicolons "
                            "between columns; several segments in one cell separated by |).")
    report = ImportReport()
    if delimiter != ",":
        report.notes.append(f"read with {DELIMITERS[delimiter]} between columns")
    segments = _segment_ids(s)
    known = set(segments)
    for raw in reader:
        line = reader.line_num
        try:
            row = parse_row(raw)
        except AddressError as exc:
            report.errors.append((line, str(exc)))
            continue
        if _save(s, row, segments):
            report.added += 1
        else:
            report.updated += 1
    report.new_segments = sorted(set(segments) - known)
    audit.record(s, "subscribers.import", "", added=report.added, updated=report.updated,
                 refused=len(report.errors), new_segments=report.new_segments)
    return report


DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs"}


def _delimiter(text: str) -> str:
    """Pick the column separator from the header line (Swedish Excel writes semicolons)."""
    header = text.split("\n", 1)[0]
    return max(DELIMITERS, key=header.count) if any(d in header for d in DELIMITERS) else ","


def decode(data: bytes) -> tuple[str, str | None]:
    """Decode an uploaded file: UTF-8 if it is, else Windows-1252 (Excel's "CSV"); say which."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "read as Windows-1252 (not UTF-8)"


def _segment_ids(s: Session) -> dict[str, int]:
    return {key: id_ for id_, key in s.execute(select(Segment.id, Segment.key))}


def _save(s: Session, row: Row, segments: dict[str, int]) -> bool:
    """Insert or update one subscriber; return True when it is new."""
    sub = None
    if row.external_id:
        sub = s.scalar(select(Subscriber).where(Subscriber.external_id == row.external_id))
    new = sub is None
    if sub is None:
        sub = Subscriber(external_id=row.external_id)
        s.add(sub)
    sub.name, sub.language = row.name, row.language
    s.flush()
    _replace_subscriptions(s, sub.id, row.addresses)
    _replace_segments(s, sub.id, row.segments, segments)
    return new


def _replace_subscriptions(s: Session, subscriber_id: int, addresses: dict[str, str]) -> None:
    """Make the subscriber's addresses those of the row; kept ones keep their opt-out state."""
    wanted = set(addresses.items())
    for existing in s.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber_id)):
        if (existing.channel, existing.address) in wanted:
            wanted.discard((existing.channel, existing.address))
        elif existing.status == "active":
            s.execute(update(Delivery).where(Delivery.subscription_id == existing.id)
                      .values(subscription_id=None))
            s.delete(existing)
        # an opted-out or bounced row stays: the person's "no" must survive a re-import
    for channel, address in sorted(wanted):
        s.add(Subscription(subscriber_id=subscriber_id, channel=channel, address=address))
    s.flush()


def _replace_segments(s: Session, subscriber_id: int, keys: list[str],
                      segments: dict[str, int]) -> None:
    """Make the subscriber's segments those of the row, creating new segments on first use."""
    for key in keys:
        if key not in segments:
            seg = Segment(key=key)
            s.add(seg)
            s.flush()
            segments[key] = seg.id
    wanted = {segments[k] for k in keys}
    have = set(s.scalars(select(SubscriberSegment.segment_id)
                         .where(SubscriberSegment.subscriber_id == subscriber_id)))
    for segment_id in have - wanted:
        s.execute(delete(SubscriberSegment).where(SubscriberSegment.subscriber_id == subscriber_id,
                                                  SubscriberSegment.segment_id == segment_id))
    for segment_id in wanted - have:
        s.add(SubscriberSegment(subscriber_id=subscriber_id, segment_id=segment_id))


def selection(channels: Sequence[str], segments: Sequence[str]) -> Select[str, str, str, int]:
    """Select one row per (delivery channel, address) of active subscriptions in the segments."""
    q = (select(Subscription.channel, Subscription.address, func.min(Subscriber.language),
                func.min(Subscription.id))
         .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
         .where(Subscription.status == "active", Subscription.channel.in_(list(channels)))
         .group_by(Subscription.channel, Subscription.address))
    if segments:
        members = (select(SubscriberSegment.subscriber_id)
                   .join(Segment, Segment.id == SubscriberSegment.segment_id)
                   .where(Segment.key.in_(list(segments))))
        q = q.where(Subscription.subscriber_id.in_(members))
    return q


def counts(s: Session, channels: Sequence[str], segments: Sequence[str]) -> dict[str, dict[str, int]]:
    """Count recipients per delivery channel and language."""
    inner = selection(channels, segments).subquery()
    rows = s.execute(select(inner.c.channel, inner.c[2], func.count())
                     .group_by(inner.c.channel, inner.c[2]))
    result: dict[str, dict[str, int]] = {c: {lang: 0 for lang in LANGUAGES} for c in channels}
    for channel, language, n in rows:
        result[channel][language] = n
    return result


def check_segments(s: Session, segments: Iterable[str]) -> None:
    """Refuse unknown segment keys with the list of known ones."""
    known = set(_segment_ids(s))
    unknown = [k for k in segments if k not in known]
    if unknown:
        raise NotifierError(f"Unknown segment {', '.join(unknown)}. Known segments: "
                            f"{', '.join(sorted(known)) or 'none'}.")
