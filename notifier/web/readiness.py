"""The readiness report in the console, and as a printable HTML file for the continuity plan's binder."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

from .. import db, readiness
from .auth import require

bp = Blueprint("readiness", __name__)


def _report() -> readiness.Report:
    with db.transaction() as s:  # recounts the last drill's totals
        return readiness.report(s)


@bp.get("/readiness")
@require("view")
def page() -> str:
    """Show what is ready and what is not, each gap with the action that closes it."""
    return render_template("readiness.html", report=_report())


@bp.get("/readiness/report.html")
@require("view")
def export() -> Response:
    """Download the report as one self-contained HTML file to print or file."""
    html = render_template("readiness_export.html", report=_report(),
                           organisation=current_app.config["ORGANISATION"])
    resp = Response(html, mimetype="text/html")
    # A download, opened from disk: its own <style> is never run under the console's CSP.
    resp.headers["Content-Disposition"] = 'attachment; filename="readiness.html"'
    return resp
