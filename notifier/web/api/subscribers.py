"""Subscribers: create, read, update, delete, export (personal data: admins only)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, stream_with_context
from flask_smorest import Blueprint
from sqlalchemy import select

from ... import addresses, audience, csvout, db
from ...models import Segment, Subscriber, SubscriberSegment, Subscription
from . import schemas
from .problems import Problem, answer_problems, needs

blp = Blueprint("subscribers", __name__, url_prefix="/api/v1/subscribers",
                description="Subscribers and their subscriptions (personal data: admin tokens only)")
answer_problems(blp)


def subscriber_out(s: Any, sub: Subscriber) -> dict[str, Any]:
    """Return a subscriber with segments and subscriptions."""
    segments = list(s.scalars(select(Segment.key).join(
        SubscriberSegment, SubscriberSegment.segment_id == Segment.id)
        .where(SubscriberSegment.subscriber_id == sub.id).order_by(Segment.key)))
    subs = list(s.scalars(select(Subscription).where(Subscription.subscriber_id == sub.id)
                          .order_by(Subscription.channel)))
    return {"id": sub.id, "external_id": sub.external_id, "name": sub.name,
            "language": sub.language, "segments": segments, "subscriptions": subs,
            "created_at": sub.created_at}


def _row(body: dict[str, Any]) -> audience.Row:
    try:
        return audience.parse_row({**{k: v for k, v in body.items() if k != "segments"},
                                   "segments": "|".join(body["segments"])})
    except addresses.AddressError as exc:
        field, _, message = str(exc).partition(": ")
        raise Problem(422, "address", "An address is not usable", str(exc),
                      {field if message else "body": message or str(exc)}) from None


def _get(s: Any, subscriber_id: int) -> Subscriber:
    sub: Subscriber | None = s.get(Subscriber, subscriber_id)
    if sub is None:
        raise Problem(404, "not-found", "No such subscriber",
                      f"There is no subscriber {subscriber_id}.")
    return sub


@blp.post("")
@blp.arguments(schemas.SubscriberIn)
@blp.response(201, schemas.SubscriberOut)
@needs("admin")
def create(body: dict[str, Any]) -> dict[str, Any]:
    """Add a subscriber (phone numbers in any Swedish form are stored in E.164)."""
    row = _row(body)
    with db.transaction() as s:
        if row.external_id and s.scalar(select(Subscriber.id).where(
                Subscriber.external_id == row.external_id)) is not None:
            raise Problem(409, "exists", "The subscriber exists",
                          f"external_id {row.external_id!r} is taken: PUT /api/v1/subscribers/ID "
                          "changes that subscriber.")
        return subscriber_out(s, audience.save(s, row))


@blp.get("/<int(max=2147483647):subscriber_id>")
@blp.response(200, schemas.SubscriberOut)
@needs("admin")
def show(subscriber_id: int) -> dict[str, Any]:
    """Return one subscriber."""
    s = db.session()
    return subscriber_out(s, _get(s, subscriber_id))


@blp.put("/<int(max=2147483647):subscriber_id>")
@blp.arguments(schemas.SubscriberIn)
@blp.response(200, schemas.SubscriberOut)
@needs("admin")
def update(body: dict[str, Any], subscriber_id: int) -> dict[str, Any]:
    """Replace a subscriber's details; an opted-out address stays opted out."""
    row = _row(body)
    with db.transaction() as s:
        _get(s, subscriber_id)
        return subscriber_out(s, audience.save(s, row, subscriber_id))


@blp.delete("/<int(max=2147483647):subscriber_id>")
@blp.response(204)
@needs("admin")
def remove(subscriber_id: int) -> None:
    """Delete a subscriber and every subscription of theirs."""
    with db.transaction() as s:
        _get(s, subscriber_id)
        audience.remove(s, subscriber_id)


EXPORT = {"200": {"description": "Every subscription as CSV (UTF-8 with BOM, for Excel)",
                  "content": {"text/csv": {"schema": {"type": "string"}}}}}


@blp.get("/export.csv")
@blp.doc(responses=EXPORT)
@needs("admin")
def export() -> Response:
    """Export every subscription as CSV, one line per subscriber and delivery channel."""
    header = ("subscriber_id", "external_id", "name", "language", "channel", "address", "status")

    def rows() -> Iterator[tuple[Any, ...]]:
        with db.transaction() as s:
            for row in s.execute(
                select(Subscriber.id, Subscriber.external_id, Subscriber.name,
                       Subscriber.language, Subscription.channel, Subscription.address,
                       Subscription.status)
                .join(Subscription, Subscription.subscriber_id == Subscriber.id)
                .order_by(Subscriber.id, Subscription.channel)):
                yield tuple(row)

    resp = Response(stream_with_context(iter(csvout.stream(header, rows()))), mimetype="text/csv")
    resp.headers["Content-Disposition"] = 'attachment; filename="subscribers.csv"'
    return resp
