"""Typed SQLAlchemy models: the record of truth, one module per part of the domain."""
from __future__ import annotations

from ..channels import DELIVERY_CHANNELS, SUBSCRIPTION_CHANNELS
from ..clock import aware, utcnow
from ..i18n import LANGUAGES
from .accounts import AuditEvent, User
from .audience import ContactChannel, Segment, Subscriber, SubscriberSegment, Subscription
from .base import (
    NAMING,
    OPEN_STATUSES,
    Base,
    DeliveryStatus,
    Role,
    UTCDateTime,
)
from .engine import IdempotencyKey, NoticeTotal
from .library import Template, TemplateVersion
from .notices import BannerSnapshot, Delivery, Incident, Notice, WebhookEvent

__all__ = [
    "DELIVERY_CHANNELS", "LANGUAGES", "NAMING", "OPEN_STATUSES", "SUBSCRIPTION_CHANNELS", "AuditEvent",
    "BannerSnapshot", "Base", "ContactChannel", "Delivery", "DeliveryStatus", "IdempotencyKey",
    "Incident", "Notice", "NoticeTotal",
    "Role", "Segment", "Subscriber", "SubscriberSegment", "Subscription", "Template",
    "TemplateVersion", "UTCDateTime", "User", "WebhookEvent", "aware", "utcnow",
]
