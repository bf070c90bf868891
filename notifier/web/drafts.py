"""Console pages for draft incidents: what monitoring proposes, confirmed or dismissed with one click."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .. import audit, contacts, db, dispatch, drafts
from ..errors import NotifierError
from ..models import Incident, Proposal
from .auth import require

bp = Blueprint("drafts", __name__)


@bp.app_context_processor
def _waiting() -> dict[str, Any]:
    """Tell every console page how many proposals wait, so nobody misses one."""
    if g.get("user") is None:
        return {"waiting_proposals": []}
    try:
        return {"waiting_proposals": drafts.waiting(db.session())}
    except Exception:  # noqa: BLE001 - a page must render even if this query fails
        return {"waiting_proposals": []}


def _preview(proposal: Proposal) -> tuple[dispatch.Preview | None, str]:
    """Render the proposed notice as it would go out, or say why it cannot."""
    try:
        return dispatch.prepare(db.session(), drafts.request_of(proposal)), ""
    except NotifierError as exc:
        return None, str(exc)


@bp.get("/drafts/<int:incident_id>")
@require("view")
def show(incident_id: int) -> str:
    """Show a draft incident's proposal: the contact channels to mark and the notice to send."""
    s = db.session()
    incident = s.get(Incident, incident_id) or abort(404)
    proposals = list(s.scalars(select(Proposal).where(Proposal.incident_id == incident_id)
                               .order_by(Proposal.id.desc())))
    current = next((p for p in proposals if p.state == "waiting"), None)
    preview, problem = _preview(current) if current else (None, "")
    registry = {c.key: c for c in contacts.all_contacts(s)}
    return render_template("draft.html", incident=incident, proposals=proposals, current=current,
                           preview=preview, problem=problem, registry=registry)


@bp.post("/drafts/<int:incident_id>/<any(confirm, dismiss):decision>")
@require("send")
def decide(incident_id: int, decision: str) -> Any:
    """Confirm (mark the contact channels and send) or dismiss the waiting proposal."""
    try:
        if decision == "confirm":
            done = drafts.confirm(incident_id, audit.actor())
            flash(_("Sent: notice %(id)s is on its way.", id=done.notice_ids[0]), "ok")
            return redirect(url_for("notices.show", notice_id=done.notice_ids[0]))
        drafts.dismiss(incident_id, audit.actor())
        flash(_("Dismissed: nothing was sent and no contact channel changed."), "ok")
    except NotifierError as exc:
        flash(str(exc), "error")
    return redirect(url_for("drafts.show", incident_id=incident_id))
