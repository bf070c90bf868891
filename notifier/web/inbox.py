"""The sandbox inbox: what each customer would have received (nothing real was sent)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import select

from .. import clock, db
from ..errors import NotifierError
from ..models import SUBSCRIPTION_CHANNELS as CHANNELS
from ..models import Subscriber, Subscription
from .auth import require

bp = Blueprint("inbox", __name__, url_prefix="/sandbox")
PER_PAGE = 20  # recipients per page


def _messages(channel: str) -> tuple[list[dict[str, Any]], str | None]:
    from ..sandbox.client import SandboxClient

    providers = current_app.config["PROVIDERS"]
    messages: list[dict[str, Any]] = []
    error = None
    for url in sorted({p.api_url for p in providers.values() if p.sandbox and p.api_url}):
        try:
            with SandboxClient(url) as client:
                messages.extend(client.messages(channel=channel or None))
        except NotifierError as exc:
            error = str(exc)
    return messages, error


def _needles(text: str) -> set[str]:
    """Return what to look for in addresses: as typed, and a Swedish number as E.164 too."""
    typed = text.strip().lower()
    if not typed:
        return set()
    compact = "".join(c for c in typed if c not in " -")
    found = {typed, compact}
    if compact.startswith("0") and not compact.startswith("00") and compact[1:].isdigit():
        found.add("+46" + compact[1:])
    return found


def _when(iso: str) -> str:
    try:
        return clock.local(datetime.fromisoformat(iso), seconds=True)
    except (TypeError, ValueError):
        return iso


def _names(addresses: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    if not addresses:
        return {}
    rows = db.session().execute(
        select(Subscription.channel, Subscription.address, Subscriber.name).join(Subscriber)
        .where(Subscription.address.in_([a for _, a in addresses])))
    return {(ch, addr): name for ch, addr, name in rows}


@bp.get("")
@require("view")
def index() -> str:
    """Show the messages per recipient, newest recipients first, filtered and paged."""
    channel = request.args.get("channel", "")
    channel = channel if channel in CHANNELS else ""
    needles = _needles(request.args.get("to", ""))
    messages, error = _messages(channel)
    by_recipient: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for m in reversed(messages):
        key = (m.get("channel", "?"), m.get("to", "?"))
        if needles and not any(n in key[1].lower().replace(" ", "") for n in needles):
            continue
        by_recipient.setdefault(key, []).append({**m, "when": _when(m.get("time", ""))})
    recipients = list(by_recipient.items())
    pages = max(1, -(-len(recipients) // PER_PAGE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    shown = recipients[(page - 1) * PER_PAGE:page * PER_PAGE]
    return render_template("sandbox.html", inbox=shown, error=error, page=page, pages=pages,
                           total=len(recipients), messages=sum(len(v) for _, v in recipients),
                           channel=channel, to=request.args.get("to", ""), channels=CHANNELS,
                           names=_names([k for k, _ in shown]))
