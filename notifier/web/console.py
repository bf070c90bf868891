"""The operator console: dashboard, send flow, live progress, contacts, sandbox inbox."""
from __future__ import annotations

import hashlib
import json
import math
import secrets
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from .. import (
    audit,
    clock,
    contacts,
    control,
    db,
    dispatch,
    estimate,
    idempotency,
    library,
    progress,
    queues,
    versions,
)
from ..errors import NotifierError
from ..models import DELIVERY_CHANNELS, SUBSCRIPTION_CHANNELS, AuditEvent, Incident, Notice, Segment
from .auth import require

bp = Blueprint("console", __name__)


@bp.app_template_filter("local")
def local_time(moment: datetime | None) -> str:
    """Show a timestamp in Swedish time (the operators' clock)."""
    return clock.local(moment)


@bp.app_template_filter("epoch_local")
def epoch_local(seconds: float) -> str:
    """Show a Unix time in Swedish time."""
    return clock.local(datetime.fromtimestamp(seconds, tz=UTC))


@bp.app_template_filter("phone")
def phone_display(value: str) -> str:
    """Show an E.164 number the Swedish way."""
    return library.format_phone(value, "sv") if value.startswith("+") else value


@bp.app_template_filter("duration")
def duration(seconds: float) -> str:
    """Say how long something takes as a person would: about 9 s, about 2 h 40 min."""
    if seconds < 59.5:
        return f"about {max(1, math.ceil(seconds))} s"
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"about {minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"about {hours} h {rest} min" if rest else f"about {hours} h"


@bp.app_template_global()
def send_estimates(preview: dispatch.Preview,
                   rates: dict[str, float] | None = None) -> dict[str, estimate.Estimate]:
    """Estimate each channel's sending time (the one estimator: SMS in segments, queue ahead)."""
    segments = {lang: per["sms"].sms.segments for lang, per in preview.rendered.items()
                if "sms" in per and per["sms"].sms}
    return estimate.for_counts(db.session(), preview.counts, segments)


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"sandbox": current_app.config["SANDBOX"], "user": g.get("user")}


def circuits() -> list[Any]:
    """Return the providers whose circuit is open (failing everything), for a warning."""
    from .. import circuit

    try:
        states = [circuit.state(queues.redis(), p) for p in ("twilio", "sendgrid", "telegram")]
    except Exception:  # noqa: BLE001 - Redis down: /readyz says so; the page still renders
        return []
    return [c for c in states if c.is_open]


@bp.get("/")
@require("view")
def dashboard() -> str:
    """Show open incidents, recent notices and the contact channels at a glance."""
    s = db.session()
    incidents = s.scalars(select(Incident).where(Incident.state == "open")
                          .order_by(Incident.id.desc())).all()
    notices = s.scalars(select(Notice).order_by(Notice.id.desc()).limit(10)).all()
    return render_template("dashboard.html", incidents=incidents, notices=notices,
                           circuits=circuits(),
                           contacts=contacts.all_contacts(s),
                           progress={n.id: progress.progress(s, n.id) for n in notices})


@bp.get("/send")
@require("send")
def choose() -> str:
    """List the approved templates to send from."""
    s = db.session()
    order = {"initial": 0, "update": 1, "all_clear": 2, "maintenance": 3}
    approved = sorted(((v, library.parse_spec(v.content)) for v in versions.approved(s)),
                      key=lambda pair: (order.get(pair[1].kind, 9), pair[1].title["en"]))
    incidents = s.scalars(select(Incident).where(Incident.state == "open")).all()
    return render_template("send_choose.html", approved=approved, incidents=incidents)


def _form_request(key: str) -> dispatch.NoticeRequest:
    form = request.form
    spec = library.parse_spec(dispatch.approved_version(db.session(), key).content)
    values: dict[str, str | list[str]] = {}
    for var in spec.variables:
        values[var.name] = (form.getlist(f"var-{var.name}") if var.type == "contacts"
                            else form.get(f"var-{var.name}", ""))
    incident = form.get("incident_id", "")
    fallback = dict(pair.split(":", 1) for pair in form.getlist("fallback") if ":" in pair)
    at = form.get("scheduled_at", "").strip()
    deadline = form.get("deadline", "").strip()
    if deadline and not deadline.isdigit():
        raise dispatch.DispatchError("Keep retrying for: give a whole number of minutes.")
    return dispatch.NoticeRequest(
        key, values, form.getlist("channels"), form.getlist("segments"),
        drill=form.get("drill") == "1", incident_id=int(incident) if incident.isdigit() else None,
        fallback=fallback, scheduled_at=clock.parse_local(at) if at else None,
        deadline_minutes=int(deadline) if deadline else None)


def preview_hash(preview: dispatch.Preview) -> str:
    """Fingerprint what the operator saw, so a confirm sends exactly that."""
    seen = {"rendered": {lang: {ch: m.to_dict() for ch, m in per.items()}
                         for lang, per in preview.rendered.items()},
            "counts": preview.counts, "version": preview.version.id}
    return hashlib.sha256(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()


def _form_page(key: str, req: dispatch.NoticeRequest | None, errors: dict[str, str],
               preview: dispatch.Preview | None = None, status: int = 200) -> tuple[str, int]:
    s = db.session()
    version = dispatch.approved_version(s, key)
    spec = library.parse_spec(version.content)
    return render_template(
        "send_form.html", key=key, spec=spec, version=version, req=req, errors=errors,
        preview=preview, preview_hash=preview_hash(preview) if preview else "",
        confirm_token=secrets.token_urlsafe(16) if preview else "",
        registry=contacts.all_contacts(s), channels=DELIVERY_CHANNELS,
        segments=s.scalars(select(Segment.key).order_by(Segment.key)).all(),
        incidents=s.scalars(select(Incident).where(Incident.state == "open")).all(),
        rates=current_app.config["RATES"]), status


@bp.route("/send/<key>", methods=["GET", "POST"])
@require("send")
def send(key: str) -> Any:
    """Fill in the variables, preview every language x channel, confirm."""
    try:
        if request.method == "GET":
            incident = request.args.get("incident", "")
            spec = library.parse_spec(dispatch.approved_version(db.session(), key).content)
            defaults = {v.name: (list(v.default) if isinstance(v.default, tuple) else v.default)
                        for v in spec.variables if v.default is not None}
            # A follow-up starts from the audience of the incident's first notice.
            req = dispatch.resolve(db.session(), dispatch.NoticeRequest(
                key, defaults, incident_id=int(incident) if incident.isdigit() else None))
            return _form_page(key, req, {})
        req = _form_request(key)
        preview = dispatch.prepare(db.session(), req)
    except library.VariablesError as exc:
        return _form_page(key, req, dict(exc.errors), status=422)
    except NotifierError as exc:
        flash(str(exc), "error")
        if request.method == "GET":
            return redirect(url_for("console.choose"))
        return _form_page(key, req, {}, status=422)
    if request.form.get("action") != "confirm":
        return _form_page(key, req, {}, preview)
    if request.form.get("preview_hash") != preview_hash(preview):
        flash("The message or audience changed since the preview: check it and confirm again.",
              "error")
        return _form_page(key, req, {}, preview)
    remind = request.form.get("remind_at", "").strip()
    # A re-posted form or a second tab of this preview carries the same token: one notice.
    once = idempotency.Key("console", f"{g.user.id}:{request.form.get('confirm_token', '')}",
                           preview_hash(preview))
    try:
        confirmed = dispatch.confirm_idempotently(
            req, audit.actor(), once, clock.parse_local(remind) if remind else None)
    except NotifierError as exc:
        flash(str(exc), "error")
        return _form_page(key, req, {}, preview, status=422)
    notice = confirmed.notices[0]
    if confirmed.replayed:
        flash(f"Notice {notice.id} was already confirmed from this preview; nothing was sent "
              "twice. / Meddelandet var redan bekräftat; inget skickades två gånger.", "ok")
    else:
        flash(f"Notice {notice.id} is scheduled. / Meddelandet är schemalagt." if notice.state ==
              "scheduled" else f"Notice {notice.id} is on its way. / Meddelandet skickas.", "ok")
    return redirect(url_for("console.notice", notice_id=notice.id))


@bp.get("/notices/<int:notice_id>")
@require("view")
def notice(notice_id: int) -> str:
    """Follow one notice's delivery live."""
    s = db.session()
    n = s.get(Notice, notice_id) or abort(404)
    return render_template("notice.html", notice=n, progress=progress.progress(s, n.id),
                           channels=SUBSCRIPTION_CHANNELS, circuits=circuits(),
                           waiting=progress.waiting(s, n.id))


@bp.get("/notices/<int:notice_id>/progress.json")
@require("view")
def notice_progress(notice_id: int) -> Any:
    """Return per-channel counts for the live progress view."""
    s = db.session()
    n = s.get(Notice, notice_id) or abort(404)
    counts = progress.progress(s, n.id)
    first, last = progress.timestamps(s, n.id)
    return jsonify(state=n.state, counts=counts, finished=progress.is_finished(counts),
                   waiting=[w.describe() for w in progress.waiting(s, n.id)],
                   estimates={ch: {"seconds": round(e.seconds, 1), "rate": e.rate,
                                   "live": e.live, "left": e.recipients}
                              for ch, e in estimate.for_notice(s, n).items()},
                   first_sent=clock.local(first, seconds=True) if first else None,
                   last_sent=clock.local(last, seconds=True) if last else None)


@bp.post("/notices/<int:notice_id>/<any(pause, resume, cancel, reroute):action>")
@require("send")
def notice_control(notice_id: int, action: str) -> Any:
    """Pause, resume, cancel a notice in flight, or send the rest on another channel."""
    try:
        flash(control.act(notice_id, action, audit.actor(), request.form.get("from", ""),
                          request.form.get("to", "email")), "ok")
    except NotifierError as exc:
        flash(str(exc), "error")
    return redirect(url_for("console.notice", notice_id=notice_id))


@bp.get("/incidents/<int:incident_id>")
@require("view")
def incident(incident_id: int) -> str:
    """Show an incident's timeline of notices."""
    s = db.session()
    inc = s.get(Incident, incident_id) or abort(404)
    return render_template("incident.html", incident=inc,
                           progress={n.id: progress.progress(s, n.id) for n in inc.notices})


@bp.get("/contacts")
@require("view")
def contact_list() -> str:
    """List the company's contact channels with their state."""
    return render_template("contacts.html", contacts=contacts.all_contacts(db.session()))


@bp.post("/contacts/<key>")
@require("contacts")
def contact_state(key: str) -> Any:
    """Mark a contact channel up or down; the banner follows at once."""
    try:
        with db.transaction() as s:
            contacts.set_state(s, key, request.form.get("state", ""))
    except NotifierError as exc:
        flash(str(exc), "error")
    else:
        queues.publish_banner_soon()
    return redirect(url_for("console.contact_list"))


@bp.get("/sandbox")
@require("view")
def sandbox_inbox() -> str:
    """Show what each sandbox recipient received (nothing real was sent)."""
    from ..sandbox.client import SandboxClient

    providers = current_app.config["PROVIDERS"]
    messages: list[dict[str, Any]] = []
    error = None
    urls = sorted({p.api_url for p in providers.values() if p.sandbox and p.api_url})
    for url in urls:
        try:
            with SandboxClient(url) as client:
                messages.extend(client.messages())
        except NotifierError as exc:
            error = str(exc)
    by_recipient: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for m in messages:
        by_recipient.setdefault((m.get("channel", "?"), m.get("to", "?")), []).append(m)
    return render_template("sandbox.html", inbox=sorted(by_recipient.items()), error=error)


@bp.get("/audit")
@require("view")
def audit_log() -> str:
    """Show the latest audit events."""
    events = db.session().scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(200)).all()
    return render_template("audit.html", events=events)
