"""From an approved template to a confirmed notice: preview, set-based planning, enqueueing."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import audience, audit, contacts, db, deliveries, idempotency, library, planner, retry
from .enqueueing import enqueue
from .errors import NotifierError
from .models import (
    DELIVERY_CHANNELS,
    SUBSCRIPTION_CHANNELS,
    Incident,
    Notice,
    Template,
    TemplateVersion,
    utcnow,
)
from .progress import complete_finished, is_finished, progress, timestamps  # noqa: F401


class DispatchError(NotifierError):
    """A notice cannot be sent as asked."""


@dataclass
class NoticeRequest:
    """What an operator asks for: a template, its variable values and an audience."""

    template_key: str
    values: Mapping[str, str | list[str]]
    # None: the incident's first notice's audience for a follow-up, else everyone on every
    # delivery channel (a drill: every channel but the banner).
    channels: Sequence[str] | None = None
    segments: Sequence[str] | None = None
    drill: bool = False
    incident_id: int | None = None
    incident_title: str = ""
    fallback: Mapping[str, str] = field(default_factory=dict)
    scheduled_at: datetime | None = None
    # Minutes to keep retrying transient failures (None: NOTIFIER_DELIVERY_DEADLINE).
    deadline_minutes: int | None = None


@dataclass
class Preview:
    """Everything the operator sees before confirming."""

    request: NoticeRequest  # with the audience resolved
    version: TemplateVersion
    spec: library.TemplateSpec
    values: library.Values
    rendered: dict[str, dict[str, library.RenderedMessage]]
    snapshot: dict[str, dict[str, Any]]
    counts: dict[str, dict[str, int]]
    warnings: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Count every per-subscriber delivery (the banner is not one)."""
        return sum(sum(langs.values()) for langs in self.counts.values())


def approved_version(s: Session, key: str) -> TemplateVersion:
    """Return the approved version of a template, or say why there is none."""
    template = s.scalar(select(Template).where(Template.key == key))
    if template is None:
        known = ", ".join(s.scalars(select(Template.key).order_by(Template.key))) or "none"
        raise DispatchError(f"No template {key!r}. Known templates: {known}.")
    for version in reversed(template.versions):
        if version.state == "approved":
            return version
    raise DispatchError(f"Template {key!r} has no approved version: a draft cannot be sent. "
                        "Ask an approver to approve it first.")


def resolve(s: Session, req: NoticeRequest) -> NoticeRequest:
    """Fill in the audience left open: a follow-up reaches whom the incident's first notice did."""
    first = None
    if req.incident_id is not None:
        incident = s.get(Incident, req.incident_id)
        first = incident.notices[0] if incident is not None and incident.notices else None
    channels = req.channels
    if channels is None:
        channels = (list(first.channels) if first is not None else
                    [c for c in DELIVERY_CHANNELS if not (req.drill and c == "banner")])
    segments = req.segments
    if segments is None:
        segments = list(first.segments) if first is not None else []
    return replace(req, channels=list(channels), segments=list(segments))


def _check_request(s: Session, req: NoticeRequest) -> None:
    assert req.channels is not None and req.segments is not None  # resolve() ran
    bad = [c for c in req.channels if c not in DELIVERY_CHANNELS]
    if bad or not req.channels:
        raise DispatchError(f"Unknown delivery channel {', '.join(bad) or '(none chosen)'}: "
                            f"choose from {', '.join(DELIVERY_CHANNELS)}.")
    audience.check_segments(s, req.segments)
    if req.drill and not req.segments:
        raise DispatchError("A drill goes to a test segment: choose the segment (e.g. staff).")
    if req.scheduled_at is not None and req.scheduled_at < utcnow() - timedelta(minutes=5):
        raise DispatchError("The send time is in the past: leave it empty to send now, "
                            "or give a later time.")
    if req.deadline_minutes is not None and not 1 <= req.deadline_minutes <= 24 * 60:
        raise DispatchError("The delivery deadline is minutes after sending during which failing "
                            "providers are retried: give 1 to 1440 (default 120).")
    for source, target in req.fallback.items():
        if source not in req.channels or target not in SUBSCRIPTION_CHANNELS or source == target:
            raise DispatchError(f"Fallback {source}->{target}: both must be delivery channels "
                                f"({', '.join(SUBSCRIPTION_CHANNELS)}), the first one among those chosen.")
    if req.drill and "banner" in req.channels:
        raise DispatchError("A drill never appears on the public banner: leave the banner out.")


def prepare(s: Session, req: NoticeRequest) -> Preview:
    """Validate the values and render every language x delivery channel, with recipient counts."""
    req = resolve(s, req)
    _check_request(s, req)
    assert req.channels is not None and req.segments is not None
    version = approved_version(s, req.template_key)
    spec = library.parse_spec(version.content, source=f"{req.template_key} v{version.number}")
    values = library.validate_values(spec, req.values, contacts.options(s))
    rendered = library.render_all(spec, values, drill=req.drill,
                                  organisation=current_app.config["ORGANISATION"])
    # The snapshot keeps every channel's wording, so a fallback or "send the rest by email"
    # can use it later; the operator sees the chosen channels.
    snapshot = {lang: {ch: m.to_dict() for ch, m in per.items()} for lang, per in rendered.items()}
    rendered = {lang: {ch: m for ch, m in per.items() if ch in req.channels}
                for lang, per in rendered.items()}
    counts = audience.counts(s, [c for c in req.channels if c in SUBSCRIPTION_CHANNELS], req.segments)
    warnings = [f"{lang}/{ch}: {w}" for lang, per in rendered.items()
                for ch, m in per.items() for w in m.warnings]
    return Preview(req, version, spec, values, rendered, snapshot, counts, warnings)


def confirm(s: Session, req: NoticeRequest, who: str) -> Notice:
    """Write the notice and its deliveries in one transaction (the caller commits)."""
    preview = prepare(s, req)
    req = preview.request
    incident = _incident(s, req, preview, who)
    notice = Notice(incident=incident, template_version_id=preview.version.id,
                    template_key=req.template_key, kind=preview.spec.kind,
                    severity=preview.spec.severity, values=preview.values.to_raw(),
                    rendered=preview.snapshot,
                    channels=list(req.channels or ()), segments=list(req.segments or ()),
                    drill=req.drill, created_by=who, fallback=dict(req.fallback),
                    scheduled_at=req.scheduled_at,
                    deadline_minutes=req.deadline_minutes or current_app.config["DELIVERY_DEADLINE"])
    s.add(notice)
    s.flush()
    audit.record(s, "notice.confirm", f"notice:{notice.id}", who=who, template=req.template_key,
                 version=preview.version.number, drill=req.drill,
                 scheduled_at=req.scheduled_at.isoformat() if req.scheduled_at else None)
    if req.scheduled_at is not None and req.scheduled_at > utcnow():
        notice.state = "scheduled"
        return notice
    start(s, notice, who)
    return notice


def confirm_with_reminder(s: Session, req: NoticeRequest, who: str,
                          remind_at: datetime | None = None) -> list[Notice]:
    """Confirm a notice and, optionally, the same notice again later as a reminder."""
    notice = confirm(s, req, who)
    if remind_at is None:
        return [notice]
    if remind_at <= (req.scheduled_at or utcnow()):
        raise DispatchError("The reminder must come after the notice itself.")
    reminder = replace(req, incident_id=notice.incident_id, scheduled_at=remind_at)
    return [notice, confirm(s, reminder, who)]


@dataclass
class Confirmed:
    """The notices a confirmation made, and whether it had been confirmed before (a replay)."""

    notices: list[Notice]
    replayed: bool = False


def confirm_idempotently(req: NoticeRequest, who: str, key: idempotency.Key | None = None,
                         remind_at: datetime | None = None) -> Confirmed:
    """Confirm in a transaction of its own and enqueue; the same key again returns its notices."""
    for attempt in (1, 2):
        try:
            with db.transaction() as s:
                confirmed = _confirm_once(s, req, who, key, remind_at)
            break
        except IntegrityError:
            # Another confirmation with this key committed first: the retry finds its notices.
            if key is None or attempt == 2:
                raise
    if not confirmed.replayed:
        for notice in confirmed.notices:
            with db.transaction() as s:
                enqueue(s, s.get(Notice, notice.id))  # type: ignore[arg-type]
    return confirmed


def _confirm_once(s: Session, req: NoticeRequest, who: str, key: idempotency.Key | None,
                  remind_at: datetime | None) -> Confirmed:
    if key is None:
        return Confirmed(confirm_with_reminder(s, req, who, remind_at))
    previous = idempotency.seen(s, key)
    if previous is not None:
        return Confirmed(list(s.scalars(select(Notice).where(Notice.id.in_(previous))
                                        .order_by(Notice.id))), replayed=True)
    row = idempotency.claim(s, key)
    notices = confirm_with_reminder(s, req, who, remind_at)
    row.notice_ids = [n.id for n in notices]
    return Confirmed(notices)


def start(s: Session, notice: Notice, who: str) -> int:
    """Plan the deliveries of a notice and supersede earlier ones; return how many were planned."""
    notice.state = "sending"
    notice.deadline_at = retry.deadline(utcnow(), notice.deadline_minutes)
    planned = planner.plan_first(s, notice)
    superseded = supersede(s, notice)
    if notice.kind == "all_clear":
        notice.incident.state, notice.incident.closed_at = "closed", utcnow()
        audit.record(s, "incident.close", f"incident:{notice.incident_id}", who=who)
    audit.record(s, "notice.start", f"notice:{notice.id}", who=who, deliveries=planned,
                 superseded=superseded)
    return planned


def start_due(s: Session) -> list[Notice]:
    """Start every scheduled notice whose time has come (the caller enqueues them)."""
    due = list(s.scalars(select(Notice).where(Notice.state == "scheduled",
                                              Notice.scheduled_at <= utcnow())
                         .with_for_update(skip_locked=True)))
    for notice in due:
        start(s, notice, "scheduler")
    return due


def start_due_and_enqueue() -> int:
    """Start the scheduled notices that are due and put their jobs on the queues."""
    with db.transaction() as s:
        ids = [n.id for n in start_due(s)]
    for notice_id in ids:
        with db.transaction() as s:
            enqueue(s, s.get(Notice, notice_id))  # type: ignore[arg-type]
    return len(ids)


def _incident(s: Session, req: NoticeRequest, preview: Preview, who: str) -> Incident:
    if req.incident_id is not None:
        incident = s.get(Incident, req.incident_id)
        if incident is None or incident.state != "open":
            raise DispatchError(f"Incident {req.incident_id} is not open: pick an open incident "
                                "or send without one to open a new incident.")
        if incident.drill != req.drill:
            kind = "a drill" if incident.drill else "a real incident"
            raise DispatchError(f"Incident {incident.id} is {kind}: a {'drill' if req.drill else 'real notice'} "
                                "cannot be added to it. Send without an incident to open a new one.")
        return incident
    title = req.incident_title or preview.spec.title.get("sv") or req.template_key
    incident = Incident(title=title, drill=req.drill, opened_by=who)
    s.add(incident)
    audit.record(s, "incident.open", "", who=who, title=title)
    return incident


def supersede(s: Session, notice: Notice) -> int:
    """Cancel what is still unsent of earlier notices of the same incident."""
    earlier = select(Notice.id).where(Notice.incident_id == notice.incident_id,
                                      Notice.id < notice.id)
    cancelled = deliveries.cancel_unsent(s, earlier, "superseded by a later notice")
    s.execute(update(Notice).where(Notice.id.in_(earlier),
                                   Notice.state.in_(("sending", "paused", "scheduled")))
              .values(state="superseded"))
    return cancelled
