"""The public status page, its Atom feeds, CAP 1.2 alerts and a Statuspage-compatible API."""
from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import force_locale
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .. import banner, cap, clock, contacts, db, library
from ..i18n import current_language
from ..i18n import gettext as _
from ..models import ContactChannel, Incident, Notice, utcnow

bp = Blueprint("status", __name__)

CACHE = "public, max-age=30"
HISTORY = timedelta(days=30)
ATOM = "http://www.w3.org/2005/Atom"
LABELS = {
    "sv": {"initial": "Första beskedet", "update": "Uppdatering", "all_clear": "Allt fungerar igen",
           "maintenance": "Planerat underhåll", "critical": "Allvarlig störning",
           "warning": "Störning", "info": "Information"},
    "en": {"initial": "First notice", "update": "Update", "all_clear": "All clear",
           "maintenance": "Planned maintenance", "critical": "Major disruption",
           "warning": "Disruption", "info": "Information"},
}


def texts() -> dict[str, str]:
    """Return the status page's words in the current language (the console's catalog)."""
    return {"title": _("Service status"), "skip": _("Skip to content"),
            "language_nav": _("Language"), "switch": _("På svenska") if current_language() == "en"
            else _("In English"), "current": _("Current disruptions"), "since": _("since"),
            "affected": _("What is affected:"), "updates": _("Updates"),
            "all_well": _("Everything is working as usual."), "reach": _("How to reach us"),
            "no_links": _("There is no contact channel to show right now."),
            "history": _("Past disruptions (30 days)"), "resolved": _("Resolved"),
            "no_history": _("No disruptions in the last 30 days."), "feeds": _("Subscribe:"),
            "down": _("These do not work right now:")}


# notice severity -> Statuspage indicator / incident impact
INDICATOR = {"critical": "critical", "warning": "major", "info": "minor"}
DESCRIPTION = {"none": "All Systems Operational", "minor": "Minor Service Outage",
               "major": "Partial System Outage", "critical": "Major System Outage"}
# the update template's `status` choice -> Statuspage incident status
UPDATE_STATUS = {"investigating": "investigating", "cause_found": "identified",
                 "partly_restored": "monitoring"}


def _utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return clock.aware(moment).astimezone(UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def public_notices(incident: Incident) -> list[Notice]:
    """Return the notices of a non-drill incident that the public may see, oldest first.

    Only notices that went to the banner are public: an email to the staff segment is not.
    """
    if incident.drill:
        return []
    now = utcnow()
    return [n for n in incident.notices if not n.drill and n.state != "cancelled"
            and "banner" in (n.channels or ())
            and (n.scheduled_at is None or clock.aware(n.scheduled_at) <= now)]


def incidents(s: Session, open_only: bool = False) -> list[Incident]:
    """Return non-drill incidents with a public notice: open ones, and ones closed lately."""
    since = utcnow() - HISTORY
    when = Incident.state == "open" if open_only else or_(Incident.state == "open",
                                                            Incident.closed_at >= since)
    found = s.scalars(select(Incident).where(Incident.drill.is_(False), when)
                      .order_by(Incident.id.desc()))
    return [i for i in found if public_notices(i)]


def notice_text(notice: Notice, lang: str) -> tuple[str, str]:
    """Return (headline, body) of a notice: its banner text, else its SMS or email text."""
    per = notice.rendered.get(lang) or notice.rendered.get("sv") or {}
    if "banner" in per:
        return per["banner"].get("headline") or "", per["banner"].get("body") or ""
    if "email" in per:
        return per["email"].get("subject") or "", per["email"].get("text") or ""
    if "sms" in per:
        text = per["sms"].get("text") or ""
        return text.split("\n", 1)[0], text
    return "", ""


def _texts(notice: Notice) -> dict[str, tuple[str, str]]:
    return {lang: notice_text(notice, lang) for lang in ("sv", "en") if lang in notice.rendered}


def _lang() -> str:
    asked = request.args.get("lang", "")
    if asked in ("sv", "en"):
        return asked
    return request.accept_languages.best_match(["sv", "en"], default="sv") or "sv"


def _cached(body: bytes | str, mimetype: str, vary: bool = False) -> Response:
    data = body.encode() if isinstance(body, str) else body
    resp = Response(data, mimetype=mimetype)
    resp.set_etag(hashlib.sha256(data).hexdigest()[:32])
    resp.headers["Cache-Control"] = CACHE
    resp.headers["X-Content-Type-Options"] = "nosniff"
    if vary:
        resp.headers["Vary"] = "Accept-Language"
    resp.make_conditional(request)
    return resp


def _when(moment: datetime, lang: str) -> dict[str, str]:
    shown = library.format_datetime(clock.aware(moment), lang)
    return {"text": str(shown), "iso": clock.to_local(moment).isoformat()}


def _view(incident: Incident, lang: str) -> dict[str, Any]:
    notices = public_notices(incident)
    latest = notices[-1]
    timeline = [{"id": n.id, "kind": LABELS[lang].get(n.kind, n.kind),
                 "headline": notice_text(n, lang)[0], "body": notice_text(n, lang)[1],
                 "when": _when(n.created_at, lang)} for n in reversed(notices)]
    severity = "info" if latest.kind == "all_clear" else latest.severity
    return {"id": incident.id, "headline": notice_text(latest, lang)[0],
            "affected": notice_text(latest, lang)[1], "severity": severity,
            "severity_label": LABELS[lang][severity], "timeline": timeline,
            "opened": _when(incident.opened_at, lang),
            "closed": _when(incident.closed_at, lang) if incident.closed_at else None}


@bp.get("/status")
def page() -> Response:
    """Render the public status page (no JavaScript), in Swedish or English."""
    lang, s = _lang(), db.session()
    shown = incidents(s)
    with force_locale(lang):
        html = render_template(
            "status.html", lang=lang, other="en" if lang == "sv" else "sv", t=texts(),
            organisation=current_app.config["ORGANISATION"],
            current=[_view(i, lang) for i in shown if i.state == "open"],
            history=[_view(i, lang) for i in shown if i.state != "open"],
            links=banner.links(s), down=[c.label_sv if lang == "sv" else c.label_en
                                         for c in contacts.all_contacts(s) if c.state == "down"])
    return _cached(html, "text/html", vary=True)


def _atom(title: str, self_url: str, entries: list[dict[str, Any]]) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    clean = cap.xml_text
    for tag, text in (("title", title), ("id", self_url),
                      ("updated", max((e["updated"] for e in entries), default="1970-01-01T00:00:00Z"))):
        ET.SubElement(feed, f"{{{ATOM}}}{tag}").text = clean(text)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=clean(self_url))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = clean(current_app.config["ORGANISATION"])
    for e in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        for tag in ("id", "title", "updated"):
            ET.SubElement(entry, f"{{{ATOM}}}{tag}").text = clean(e[tag])
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=clean(e["href"]),
                      **({"type": e["type"]} if "type" in e else {}))
        if e.get("content"):
            ET.SubElement(entry, f"{{{ATOM}}}content", type="text").text = clean(e["content"])
    data: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return data


def _all_public(s: Session) -> list[Notice]:
    return sorted((n for i in incidents(s) for n in public_notices(i)),
                  key=lambda n: n.id, reverse=True)


@bp.get("/feed.atom")
def feed() -> Response:
    """List the public notices of the last 30 days as an Atom feed."""
    lang, base = _lang(), current_app.config["PUBLIC_URL"]
    entries = [{"id": f"{base}/status#notice-{n.id}", "title": notice_text(n, lang)[0],
                "updated": _utc(n.created_at), "content": notice_text(n, lang)[1],
                "href": f"{base}/status?lang={lang}#notice-{n.id}"}
               for n in _all_public(db.session())]
    title = "Driftinformation" if lang == "sv" else "Service status"
    body = _atom(f"{current_app.config['ORGANISATION']}: {title}",
                 f"{base}/feed.atom?lang={lang}", entries)
    return _cached(body, "application/atom+xml")


@bp.get("/cap.atom")
def cap_index() -> Response:
    """List the CAP alert of every public notice of the last 30 days."""
    base = current_app.config["PUBLIC_URL"]
    entries = [{"id": cap.identifier(base, n.id), "title": notice_text(n, "en")[0],
                "updated": _utc(n.created_at), "type": "application/cap+xml",
                "href": base + url_for("status.cap_alert", notice_id=n.id)}
               for n in _all_public(db.session())]
    body = _atom(f"{current_app.config['ORGANISATION']}: CAP alerts", f"{base}/cap.atom", entries)
    return _cached(body, "application/atom+xml")


@bp.get("/cap/<int:notice_id>.xml")
def cap_alert(notice_id: int) -> Response:
    """Serve one notice as a CAP 1.2 alert (drills and unknown notices are 404)."""
    s = db.session()
    notice = s.get(Notice, notice_id)
    if notice is None:
        abort(404)
    public = public_notices(notice.incident)
    if notice not in public:
        abort(404)
    alert = cap.Alert(notice=notice, texts=_texts(notice),
                      earlier=[n for n in public if n.id < notice.id],
                      links=banner.notice_links(s, notice),
                      public_url=current_app.config["PUBLIC_URL"],
                      organisation=current_app.config["ORGANISATION"])
    return _cached(cap.document(alert), "application/cap+xml")


def _page_info(s: Session, shown: list[Incident]) -> dict[str, Any]:
    base = current_app.config["PUBLIC_URL"]
    moments = [n.created_at for i in shown for n in public_notices(i)]
    moments += [c.updated_at for c in s.scalars(select(ContactChannel))]
    return {"id": hashlib.sha256(base.encode()).hexdigest()[:12],
            "name": current_app.config["ORGANISATION"], "url": f"{base}/status",
            "time_zone": clock.ZONE.key,
            "updated_at": _utc(max((clock.aware(m) for m in moments), default=None))}


def _indicator(open_incidents: list[Incident], components: list[dict[str, Any]]) -> dict[str, str]:
    levels = ["none", "minor", "major", "critical"]
    worst = "none"
    for incident in open_incidents:
        latest = public_notices(incident)[-1]
        if latest.kind not in ("maintenance", "all_clear"):
            worst = max(worst, INDICATOR.get(latest.severity, "minor"), key=levels.index)
    if worst == "none" and any(c["status"] != "operational" for c in components):
        worst = "minor"
    return {"indicator": worst, "description": DESCRIPTION[worst]}


def _components(s: Session, page_id: str, lang: str) -> list[dict[str, Any]]:
    out = []
    for position, c in enumerate(contacts.all_contacts(s), start=1):
        out.append({"id": f"contact-{c.key}", "name": c.label_sv if lang == "sv" else c.label_en,
                    "status": "operational" if c.state == "up" else "major_outage",
                    "created_at": _utc(c.updated_at), "updated_at": _utc(c.updated_at),
                    "position": position, "description": None, "showcase": True,
                    "start_date": None, "group_id": None, "page_id": page_id, "group": False,
                    "only_show_if_degraded": False})
    return out


def _update_status(notice: Notice) -> str:
    if notice.kind == "all_clear":
        return "resolved"
    if notice.kind == "maintenance":
        return "scheduled"
    if notice.kind == "update":
        return UPDATE_STATUS.get(str(notice.values.get("status")), "identified")
    return "investigating"


def _incident(incident: Incident, page_id: str, lang: str) -> dict[str, Any]:
    notices = public_notices(incident)
    latest = notices[-1]
    updates = [{"id": f"notice-{n.id}", "status": _update_status(n),
                "body": " ".join(p for p in notice_text(n, lang) if p),
                "incident_id": str(incident.id), "created_at": _utc(n.created_at),
                "updated_at": _utc(n.created_at), "display_at": _utc(n.created_at),
                "affected_components": None, "deliver_notifications": True,
                "custom_tweet": None, "tweet_id": None} for n in reversed(notices)]
    return {"id": str(incident.id), "name": notice_text(notices[0], lang)[0] or incident.title,
            "status": _update_status(latest), "created_at": _utc(incident.opened_at),
            "updated_at": _utc(latest.created_at), "monitoring_at": None,
            "resolved_at": _utc(incident.closed_at), "started_at": _utc(incident.opened_at),
            "impact": "maintenance" if latest.kind == "maintenance"
            else INDICATOR.get(latest.severity, "minor"),
            "shortlink": f"{current_app.config['PUBLIC_URL']}/status#incident-{incident.id}",
            "page_id": page_id, "incident_updates": updates, "components": []}


def _maintenance(incident: Incident, page_id: str, lang: str) -> dict[str, Any]:
    entry = _incident(incident, page_id, lang)
    start, end = banner.window(public_notices(incident)[-1])
    now = utcnow()
    entry["status"] = ("in_progress" if start and start <= now and (not end or now < end)
                       else "scheduled")
    entry["scheduled_for"], entry["scheduled_until"] = _utc(start), _utc(end)
    return entry


def _summary(lang: str) -> dict[str, Any]:
    s = db.session()
    open_ = incidents(s, open_only=True)
    page_info = _page_info(s, open_)
    components = _components(s, page_info["id"], lang)
    maint = [i for i in open_ if public_notices(i)[-1].kind == "maintenance"]
    return {"page": page_info, "components": components,
            "incidents": [_incident(i, page_info["id"], lang) for i in open_ if i not in maint],
            "scheduled_maintenances": [_maintenance(i, page_info["id"], lang) for i in maint],
            "status": _indicator(open_, components)}


def _json(doc: dict[str, Any]) -> Response:
    import json

    resp = _cached(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), "application/json")
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.get("/api/v2/status.json")
def statuspage_status() -> Response:
    """Answer like Statuspage's /api/v2/status.json: the page and its rolled-up indicator."""
    summary = _summary(_lang_json())
    return _json({"page": summary["page"], "status": summary["status"]})


@bp.get("/api/v2/summary.json")
def statuspage_summary() -> Response:
    """Answer like Statuspage's /api/v2/summary.json: components, unresolved incidents, status."""
    return _json(_summary(_lang_json()))


def _lang_json() -> str:
    """Pick the language of names in the JSON API: ?lang=sv|en, English by default."""
    return "sv" if request.args.get("lang") == "sv" else "en"
