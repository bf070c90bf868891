"""Typed SQLAlchemy models: the record of truth, one module per part of the domain."""
from __future__ import annotations

from ..channels import DELIVERY_CHANNELS, SUBSCRIPTION_CHANNELS
from ..clock import aware, utcnow
from ..i18n import LANGUAGES
from .accounts import AuditEvent, RolePolicy, User
from .api import Alert, ApiToken, Proposal
from .audience import (
    CONSENT_SOURCES,
    SUBSCRIPTION_STATES,
    ContactChannel,
    Segment,
    Subscriber,
    SubscriberSegment,
    Subscription,
)
from .base import (
    NAMING,
    OPEN_STATUSES,
    Base,
    DeliveryStatus,
    Role,
    UTCDateTime,
)
from .customers import InboxMessage, Signup
from .engine import IdempotencyKey, NoticeTotal
from .library import Template, TemplateVersion
from .notices import BannerSnapshot, Delivery, Incident, Notice, WebhookEvent

__all__ = [
    "CONSENT_SOURCES", "DELIVERY_CHANNELS", "LANGUAGES", "NAMING", "OPEN_STATUSES",
    "SUBSCRIPTION_CHANNELS", "SUBSCRIPTION_STATES", "Alert", "ApiToken", "AuditEvent",
    "BannerSnapshot", "Base", "ContactChannel", "Delivery", "DeliveryStatus", "IdempotencyKey",
    "InboxMessage", "Incident", "Notice", "NoticeTotal", "Proposal",
    "Role", "RolePolicy", "Segment", "Signup", "Subscriber", "SubscriberSegment", "Subscription", "Template",
    "TemplateVersion", "UTCDateTime", "User", "WebhookEvent", "aware", "utcnow",
]
