"""An incident as one story, and its report for the continuity review (HTML and CSV)."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template

from .. import db, progress, reports, timeline
from ..i18n import current_language
from ..models import Incident
from .auth import require
from .downloads import csv_response

bp = Blueprint("incidents", __name__, url_prefix="/incidents")


def _incident(incident_id: int) -> Incident:
    return db.session().get(Incident, incident_id) or abort(404)


@bp.get("/<int:incident_id>")
@require("view")
def show(incident_id: int) -> str:
    """Show the incident's story: notices, contact channels, the banner, who and when."""
    s = db.session()
    inc = _incident(incident_id)
    return render_template("incident.html", incident=inc,
                           story=timeline.story(s, inc, current_language()),
                           progress={n.id: progress.progress(s, n.id) for n in inc.notices},
                           down=timeline.down_during(s, inc))


def render_report(report: reports.Report, standalone: bool = False) -> str:
    """Render the incident report page (standalone: one file with its styles inside)."""
    css = ""
    if standalone:
        from pathlib import Path

        css = (Path(__file__).resolve().parent.parent / "static" / "report.css").read_text()
    return render_template("report.html", report=report, standalone=standalone, css=css,
                           story=timeline.story(db.session(), report.incident,
                                                current_language()))


@bp.get("/<int:incident_id>/report")
@require("view")
def report(incident_id: int) -> str:
    """Show the incident report for the continuity review."""
    return render_report(_build(_incident(incident_id).id))


def _build(incident_id: int) -> reports.Report:
    # Recounting the totals writes: a short transaction of its own, not the page's read session.
    with db.transaction() as s:
        return reports.build(s, incident_id)


@bp.get("/<int:incident_id>/report.csv")
@require("view")
def report_csv(incident_id: int) -> Response:
    """Download the report: one row per notice x delivery channel."""
    built = _build(_incident(incident_id).id)
    rows = list(reports.rows(built))
    return csv_response(f"incident-{incident_id}-report.csv", reports.header(),
                        lambda _s: rows)


@bp.get("/<int:incident_id>/recipients.csv")
@require("view")
def recipients_csv(incident_id: int) -> Response:
    """Download every delivery of the incident: who, which channel, what became of it."""
    inc = _incident(incident_id)
    return csv_response(f"incident-{incident_id}-recipients.csv", reports.recipients_header(),
                        lambda s: reports.recipients(s, inc.id))
