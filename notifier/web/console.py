"""The operator console: the overview, choosing a template, the send form with its preview."""
from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from .. import (
    audit,
    circuit,
    clock,
    contacts,
    db,
    dispatch,
    idempotency,
    library,
    preflight,
    progress,
    queues,
    timeline,
    versions,
)
from ..errors import NotifierError
from ..i18n import current_language
from ..i18n import gettext as _
from ..models import DELIVERY_CHANNELS, Incident, Notice, Segment, TemplateVersion
from .auth import require

bp = Blueprint("console", __name__)
# The template chooser's order when nothing else decides: the scenario the notifier exists for.
LIKELY = ("phone-lines-down", "partial-outage", "long-queues", "channel-down",
          "planned-maintenance")
FOLLOW_UPS = ("update", "all_clear")


def circuits() -> list[Any]:
    """Return the providers whose circuit is open (failing everything), for a warning."""
    try:
        states = [circuit.state(queues.redis(), p) for p in ("twilio", "sendgrid", "telegram")]
    except Exception:  # noqa: BLE001 - Redis down: /readyz says so; the page still renders
        return []
    return [c for c in states if c.is_open]


@bp.get("/")
@require("view")
def dashboard() -> str:
    """Show open incidents, recent notices, drafts to approve and the contact channels."""
    s = db.session()
    notices = s.scalars(select(Notice).order_by(Notice.id.desc()).limit(10)).all()
    drafts = s.scalars(select(TemplateVersion).where(TemplateVersion.state == "draft")
                       .order_by(TemplateVersion.created_at)).all()
    return render_template("dashboard.html", incidents=timeline.open_incidents(s),
                           notices=notices, circuits=circuits(),
                           contacts=contacts.all_contacts(s), drafts=drafts,
                           progress={n.id: progress.progress(s, n.id) for n in notices})


def ordered_templates(approved: list[tuple[TemplateVersion, library.TemplateSpec]],
                      incident_open: bool) -> list[tuple[TemplateVersion, library.TemplateSpec]]:
    """Order the chooser by likelihood: follow-ups first during an incident, then the outage."""
    def rank(pair: tuple[TemplateVersion, library.TemplateSpec]) -> tuple[int, int, str]:
        spec = pair[1]
        follow_up = spec.kind in FOLLOW_UPS
        group = (0 if follow_up else 1) if incident_open else (1 if follow_up else 0)
        known = LIKELY.index(spec.key) if spec.key in LIKELY else len(LIKELY)
        return group, FOLLOW_UPS.index(spec.kind) if follow_up else known, spec.title["en"]
    return sorted(approved, key=rank)


def _matches(spec: library.TemplateSpec, query: str) -> bool:
    words = " ".join([spec.key, *spec.title.values(), *spec.description.values()]).lower()
    return all(w in words for w in query.lower().split())


@bp.get("/send")
@require("send")
def choose() -> str:
    """List the approved templates to send from, the likeliest first, with a search."""
    s = db.session()
    incidents = timeline.open_incidents(s)
    approved = [(v, library.parse_spec(v.content)) for v in versions.approved(s)]
    query = request.args.get("q", "").strip()
    shown = [p for p in ordered_templates(approved, bool(incidents))
             if not query or _matches(p[1], query)]
    return render_template("send_choose.html", approved=shown, incidents=incidents, q=query,
                           follow_ups=FOLLOW_UPS)


def _field_errors(key: str, errors: dict[str, str]) -> dict[str, str]:
    """Say in the reader's language that a required field is empty (the commonest mistake)."""
    spec = library.parse_spec(dispatch.approved_version(db.session(), key).content)
    labels = {v.name: v.label.get(current_language(), v.label["en"]) for v in spec.variables}
    return {name: (_("“%(field)s” is required: fill it in.", field=labels[name])
                   if message.endswith("is required; fill it in.") and name in labels
                   else message) for name, message in errors.items()}


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
    drill = form.get("drill") == "1"
    deadline = form.get("deadline", "").strip()
    if deadline and not deadline.isdigit():
        raise dispatch.DispatchError(_("Keep retrying for: give a whole number of minutes."))
    # A drill is never public: ticking it leaves the banner out rather than failing.
    channels = [c for c in form.getlist("channels") if not (drill and c == "banner")]
    return dispatch.NoticeRequest(
        key, values, channels, form.getlist("segments"),
        drill=drill, incident_id=int(incident) if incident.isdigit() else None,
        fallback=fallback, scheduled_at=clock.parse_local(at) if at else None,
        deadline_minutes=int(deadline) if deadline else None)


def preview_hash(preview: dispatch.Preview) -> str:
    """Fingerprint what the operator saw, so a confirm sends exactly that."""
    seen = {"rendered": {lang: {ch: m.to_dict() for ch, m in per.items()}
                         for lang, per in preview.rendered.items()},
            "counts": preview.counts, "version": preview.version.id}
    return hashlib.sha256(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()


def _restorable(req: dispatch.NoticeRequest | None, kind: str) -> tuple[list[Any], list[str]]:
    """Return the down contact channels an all-clear may mark up, and the ones to pre-tick."""
    s = db.session()
    if kind != "all_clear":
        return [], []
    down = [c for c in contacts.all_contacts(s) if c.state != "up"]
    if request.method == "POST":
        return down, request.form.getlist("restore")
    incident = s.get(Incident, req.incident_id) if req and req.incident_id else None
    marked = timeline.down_during(s, incident) if incident is not None else down
    return down, [c.key for c in marked]


def _form_page(key: str, req: dispatch.NoticeRequest | None, errors: dict[str, str],
               preview: dispatch.Preview | None = None, status: int = 200) -> tuple[str, int]:
    s = db.session()
    version = dispatch.approved_version(s, key)
    spec = library.parse_spec(version.content)
    down, restoring = _restorable(req, spec.kind)
    checks = preflight.check(s, preview, restoring) if preview else None
    return render_template(
        "send_form.html", key=key, spec=spec, version=version, req=req, errors=errors,
        preview=preview, preview_hash=preview_hash(preview) if preview else "",
        confirm_token=secrets.token_urlsafe(16) if preview else "", checks=checks,
        estimates=preflight.estimates(s, preview) if preview else {},
        registry=contacts.all_contacts(s), channels=DELIVERY_CHANNELS, down=down,
        restoring=restoring, segments=s.scalars(select(Segment.key).order_by(Segment.key)).all(),
        incidents=timeline.open_incidents(s), rates=current_app.config["RATES"]), status


def _defaults(key: str) -> dispatch.NoticeRequest:
    incident = request.args.get("incident", "")
    spec = library.parse_spec(dispatch.approved_version(db.session(), key).content)
    defaults = {v.name: (list(v.default) if isinstance(v.default, tuple) else v.default)
                for v in spec.variables if v.default is not None}
    # A follow-up starts from the audience of the incident's first notice.
    return dispatch.resolve(db.session(), dispatch.NoticeRequest(
        key, defaults, incident_id=int(incident) if incident.isdigit() else None))


@bp.route("/send/<key>", methods=["GET", "POST"])
@require("send")
def send(key: str) -> Any:
    """Fill in the variables, preview every language x channel, confirm."""
    req = None
    try:
        if request.method == "GET":
            return _form_page(key, _defaults(key), {})
        req = _form_request(key)
        if req.drill and not req.segments:
            raise dispatch.DispatchError(_("A drill goes to a test segment: tick one under "
                                           "Segments (for example staff)."))
        preview = dispatch.prepare(db.session(), req)
    except library.VariablesError as exc:
        return _form_page(key, req, _field_errors(key, exc.errors), status=422)
    except NotifierError as exc:
        flash(str(exc), "error")
        if request.method == "GET" or req is None:
            return redirect(url_for("console.choose"))
        return _form_page(key, req, {}, status=422)
    if request.form.get("action") != "confirm":
        return _form_page(key, req, {}, preview)
    if request.form.get("preview_hash") != preview_hash(preview):
        flash(_("The message or audience changed since the preview: check it and confirm "
                "again."), "error")
        return _form_page(key, req, {}, preview)
    return _confirm(key, req, preview)


def _confirm(key: str, req: dispatch.NoticeRequest, preview: dispatch.Preview) -> Any:
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
        flash(_("Notice %(id)s was already confirmed from this preview; nothing was sent twice.",
                id=notice.id), "ok")
    else:
        _restore(request.form.getlist("restore") if preview.spec.kind == "all_clear" else [])
        flash(_("Notice %(id)s is scheduled.", id=notice.id) if notice.state == "scheduled"
              else _("Notice %(id)s is on its way.", id=notice.id), "ok")
    return redirect(url_for("notices.show", notice_id=notice.id))


def _restore(keys: list[str]) -> None:
    """Mark up the contact channels the all-clear says are back, so every page agrees."""
    if not keys:
        return
    with db.transaction() as s:
        changed = timeline.restore(s, keys)
    if changed:
        queues.publish_banner_soon()
        labels = {c.key: c for c in contacts.all_contacts(db.session())}
        sv = current_language() == "sv"
        names = ", ".join(labels[k].label_sv if sv else labels[k].label_en
                          for k in changed if k in labels)
        flash(_("Marked up again: %(names)s.", names=names), "ok")
