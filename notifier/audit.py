"""The audit log: who did what, when."""
from __future__ import annotations

import getpass
from typing import Any

from flask import g, has_app_context
from sqlalchemy.orm import Session

from .models import AuditEvent


def actor() -> str:
    """Name who is acting: the signed-in account (console or CLI), else the OS user."""
    if has_app_context() and getattr(g, "user", None) is not None:
        return f"user:{g.user.email}"
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "cli:unknown"


def record(s: Session, action: str, subject: str = "", who: str | None = None,
           **detail: Any) -> None:
    """Add an audit event to the session's transaction."""
    s.add(AuditEvent(actor=who or actor(), action=action, subject=subject, detail=detail))
