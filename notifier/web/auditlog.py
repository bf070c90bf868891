"""The audit log in the console: sentences in the reader's language, filters, CSV export."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from .. import auditlog, db
from ..errors import NotifierError
from ..i18n import current_language
from ..i18n import gettext as _
from .auth import require
from .downloads import csv_response

bp = Blueprint("auditlog", __name__, url_prefix="/audit")


def _filters() -> tuple[auditlog.Filters, str]:
    args = request.args
    try:
        since = auditlog.day(args.get("since", ""))
        until = auditlog.day(args.get("until", ""), end=True)
        problem = ""
    except NotifierError:
        since = until = None
        problem = _("Write dates as YYYY-MM-DD, for example 2026-11-28.")
    return auditlog.Filters(args.get("group", ""), args.get("actor", ""), args.get("q", ""),
                            since, until), problem


@bp.get("")
@require("view")
def index() -> str:
    """Show the audit log, newest first, filtered and paged."""
    filters, problem = _filters()
    s = db.session()
    found = auditlog.page(s, filters, request.args.get("page", 1, type=int))
    labels = auditlog.contact_labels(s, current_language())
    return render_template("audit.html", found=found, problem=problem, groups=auditlog.GROUPS,
                           sentences=[(e, auditlog.sentence(e, labels)) for e in found.events],
                           args=request.args,
                           rest={k: v for k, v in request.args.items() if k != "page" and v})


@bp.get("/audit.csv")
@require("view")
def export() -> Response:
    """Download the filtered audit log as CSV (opens in Excel with Swedish intact)."""
    filters, _problem = _filters()
    header = [_("when (Swedish time)"), _("who"), _("what"), _("code"), _("subject")]
    language = current_language()
    return csv_response("audit-log.csv", header,
                        lambda s: auditlog.rows(s, filters, language))
