"""The words a person reads for the notifier's codes, in Swedish and English (GLOSSARY.md).

Delivery channels, delivery statuses, notice and incident states, roles, template kinds: one
translated name each, used by the console, the reports and the audit log alike.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

CHANNEL = {"sms": _l("SMS"), "email": _l("Email"), "telegram": _l("Telegram"),
           "banner": _l("Website banner")}
STATUS = {
    "queued": _l("queued"), "sending": _l("sending"), "sent": _l("sent"),
    "delivered": _l("delivered"), "undelivered": _l("undelivered"),
    "retry_wait": _l("waiting for the provider"), "failed": _l("failed"),
    "skipped": _l("skipped"), "cancelled": _l("cancelled"),
}
NOTICE_STATE = {
    "sending": _l("sending"), "paused": _l("paused"), "completed": _l("completed"),
    "cancelled": _l("cancelled"), "superseded": _l("superseded"), "scheduled": _l("scheduled"),
}
INCIDENT_STATE = {"open": _l("open"), "closed": _l("closed")}
CONTACT_STATE = {"up": _l("up"), "down": _l("down"), "unknown": _l("unknown")}
CONTACT_KIND = {"phone": _l("phone"), "chat": _l("chat"), "email": _l("email"),
                "webform": _l("web form"), "office": _l("office"), "social": _l("social media")}
ROLE = {"viewer": _l("viewer"), "operator": _l("operator"), "editor": _l("editor"),
        "approver": _l("approver"), "admin": _l("admin")}
KIND = {"initial": _l("first notice"), "update": _l("update"), "all_clear": _l("all-clear"),
        "maintenance": _l("planned maintenance")}
VERSION_STATE = {"draft": _l("draft"), "approved": _l("approved"), "retired": _l("retired"),
                 "rejected": _l("rejected")}
LANGUAGE = {"sv": _l("Swedish"), "en": _l("English")}


def name(table: dict[str, Any], code: str) -> str:
    """Return the word for a code in the current language (the code itself when unknown)."""
    word = table.get(code)
    return str(word) if word is not None else code
