"""The API's request and response shapes (marshmallow); the OpenAPI document is built from them."""
from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from ...contacts import STATES
from ...models import DELIVERY_CHANNELS, LANGUAGES
from ...models import SUBSCRIPTION_CHANNELS as CHANNELS


class UTC_(f.DateTime):
    """An aware UTC time written as ISO 8601 with Z (the API's one time format)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return str(moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"))


def when(**kw: Any) -> UTC_:
    """Return a nullable UTC time field."""
    return UTC_(allow_none=True, **kw)


class Schema(ma.Schema):
    """Refuse unknown fields in requests, so a typo is an error, not silently ignored."""

    class Meta:
        unknown = ma.RAISE


Value = f.Raw(metadata={"description": "A string, or a list of strings for a contacts field",
                        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})


class NoticeIn(Schema):
    template = f.String(required=True, validate=v.Length(1, 64),
                        metadata={"description": "Key of an approved template"})
    values = f.Dict(keys=f.String(validate=v.Length(1, 64)), values=Value, load_default=dict,
                    validate=v.Length(max=50))
    channels = f.List(f.String(validate=v.OneOf(DELIVERY_CHANNELS)), allow_none=True,
                      load_default=None, validate=v.Length(max=4),
                      metadata={"description": "Default: the incident's first notice's, else all"})
    segments = f.List(f.String(validate=v.Length(1, 64)), allow_none=True, load_default=None,
                      validate=v.Length(max=100),
                      metadata={"description": "Default: everyone (a follow-up: as the first notice)"})
    incident_id = f.Integer(allow_none=True, load_default=None, validate=v.Range(1, 2**31 - 1))
    drill = f.Boolean(load_default=False)
    fallback = f.Dict(keys=f.String(validate=v.OneOf(CHANNELS)),
                      values=f.String(validate=v.OneOf(CHANNELS)), load_default=dict)
    scheduled_at = when(load_default=None, metadata={"description": "Send later (UTC)"})
    remind_at = when(load_default=None, metadata={"description": "Send again as a reminder (UTC)"})


class Rendered(ma.Schema):
    language = f.String()
    channel = f.String()
    text = f.String()
    subject = f.String(allow_none=True)
    headline = f.String(allow_none=True)
    sms_segments = f.Integer(allow_none=True)
    sms_encoding = f.String(allow_none=True)
    warnings = f.List(f.String())


class PreviewOut(ma.Schema):
    template = f.String()
    version = f.Integer()
    channels = f.List(f.String())
    segments = f.List(f.String())
    counts = f.Dict(keys=f.String(), values=f.Dict(keys=f.String(), values=f.Integer()),
                    metadata={"description": "delivery channel -> language -> recipients"})
    total = f.Integer()
    rendered = f.List(f.Nested(Rendered))
    warnings = f.List(f.String())


class ChannelTotal(ma.Schema):
    counts = f.Dict(keys=f.String(), values=f.Integer(),
                    metadata={"description": "delivery status -> deliveries"})
    failures = f.Dict(keys=f.String(), values=f.Integer())
    first_sent_at = when()
    half_at = when()
    most_at = when()
    all_at = when()


class NoticeOut(ma.Schema):
    id = f.Integer()
    incident_id = f.Integer()
    template = f.String(attribute="template_key")
    kind = f.String()
    severity = f.String()
    state = f.String()
    drill = f.Boolean()
    channels = f.List(f.String())
    segments = f.List(f.String())
    created_at = when()
    created_by = f.String()
    scheduled_at = when()
    finished = f.Boolean()
    progress = f.Dict(keys=f.String(), values=f.Nested(ChannelTotal))


class NoticesOut(ma.Schema):
    replayed = f.Boolean(metadata={"description": "True: this Idempotency-Key was used before; "
                                                  "nothing new was sent"})
    notices = f.List(f.Nested(NoticeOut))


class ControlOut(ma.Schema):
    notice_id = f.Integer()
    message = f.String()


class ProposalOut(ma.Schema):
    id = f.Integer()
    kind = f.String()
    state = f.String()
    template = f.String(attribute="template_key")
    values = f.Dict(keys=f.String(), values=f.Raw())
    contact_states = f.Dict(keys=f.String(), values=f.String())
    segments = f.List(f.String())
    reason = f.String()
    created_at = when()
    decided_at = when()
    decided_by = f.String(allow_none=True)
    notice_id = f.Integer(allow_none=True)


class IncidentOut(ma.Schema):
    id = f.Integer()
    title = f.String()
    state = f.String(metadata={"description": "draft (proposed by an alert, not public), open, "
                                              "closed or dismissed"})
    drill = f.Boolean()
    opened_at = when()
    opened_by = f.String()
    closed_at = when()
    notice_ids = f.List(f.Integer())
    proposals = f.List(f.Nested(ProposalOut))


class IncidentQuery(Schema):
    state = f.String(validate=v.OneOf(("draft", "open", "closed", "dismissed")), load_default=None)
    limit = f.Integer(validate=v.Range(1, 500), load_default=100)


class ConfirmIn(Schema):
    proposal_id = f.Integer(load_default=None, allow_none=True, validate=v.Range(1, 2**31 - 1),
                            metadata={"description": "Default: the incident's waiting proposal"})


class ConfirmOut(ma.Schema):
    incident_id = f.Integer()
    proposal_id = f.Integer()
    notice_ids = f.List(f.Integer())
    contacts_changed = f.Dict(keys=f.String(), values=f.String())
    replayed = f.Boolean()


class VariableOut(ma.Schema):
    name = f.String()
    type = f.String()
    required = f.Boolean()
    label = f.Dict(keys=f.String(), values=f.String())


class VersionOut(ma.Schema):
    number = f.Integer()
    state = f.String()
    author = f.String()
    created_at = when()
    approved_at = when()
    comment = f.String()


class TemplateOut(ma.Schema):
    key = f.String()
    kind = f.String(allow_none=True)
    title = f.Dict(keys=f.String(), values=f.String())
    approved_version = f.Integer(allow_none=True)
    variables = f.List(f.Nested(VariableOut))
    versions = f.List(f.Nested(VersionOut))


class ReviewIn(Schema):
    comment = f.String(load_default="", validate=v.Length(max=2000))


class ContactOut(ma.Schema):
    key = f.String()
    kind = f.String()
    label = f.Dict(keys=f.String(), values=f.String())
    value = f.String()
    state = f.String()
    depends_on = f.List(f.String())
    verified_at = when()
    updated_at = when()


class ContactStateIn(Schema):
    state = f.String(required=True, validate=v.OneOf(STATES))


class SubscriberIn(Schema):
    name = f.String(load_default="", validate=v.Length(max=200))
    language = f.String(load_default="sv", validate=v.OneOf(LANGUAGES))
    phone = f.String(load_default="", validate=v.Length(max=40))
    email = f.String(load_default="", validate=v.Length(max=254))
    telegram_chat_id = f.String(load_default="", validate=v.Length(max=32))
    segments = f.List(f.String(validate=v.Length(1, 64)), load_default=list,
                      validate=v.Length(max=50))
    external_id = f.String(load_default=None, allow_none=True, validate=v.Length(1, 120))


class SubscriptionOut(ma.Schema):
    channel = f.String()
    address = f.String()
    status = f.String()


class SubscriberOut(ma.Schema):
    id = f.Integer()
    external_id = f.String(allow_none=True)
    name = f.String()
    language = f.String()
    segments = f.List(f.String())
    subscriptions = f.List(f.Nested(SubscriptionOut))
    created_at = when()


class BannerOut(ma.Schema):
    version = f.Integer()
    banners = f.List(f.Dict(keys=f.String(), values=f.Raw()))
