"""Incidents: list, read, and the draft's one call that confirms what monitoring proposed."""
from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import select

from ... import db, drafts
from ...models import Incident, Proposal
from . import schemas
from .problems import Problem, answer_problems, needs, who

blp = Blueprint("incidents", __name__, url_prefix="/api/v1/incidents",
                description="Incidents: one disruption, from draft or opened to closed")
answer_problems(blp)


def incident_out(s: Any, incident: Incident) -> dict[str, Any]:
    """Return an incident with its notice ids and proposals."""
    proposals = list(s.scalars(select(Proposal).where(Proposal.incident_id == incident.id)
                               .order_by(Proposal.id)))
    return {**{k: getattr(incident, k) for k in ("id", "title", "state", "drill", "opened_at",
                                                  "opened_by", "closed_at")},
            "notice_ids": [n.id for n in incident.notices], "proposals": proposals}


def _incident(s: Any, incident_id: int) -> Incident:
    incident: Incident | None = s.get(Incident, incident_id)
    if incident is None:
        raise Problem(404, "not-found", "No such incident", f"There is no incident {incident_id}.")
    return incident


@blp.get("")
@blp.arguments(schemas.IncidentQuery, location="query")
@blp.response(200, schemas.IncidentOut(many=True))
@needs("view")
def index(query: dict[str, Any]) -> list[dict[str, Any]]:
    """List incidents, newest first (draft ones are proposals from monitoring, not public)."""
    s = db.session()
    q = select(Incident).order_by(Incident.id.desc()).limit(query["limit"])
    if query["state"]:
        q = q.where(Incident.state == query["state"])
    return [incident_out(s, i) for i in s.scalars(q)]


@blp.get("/<int(max=2147483647):incident_id>")
@blp.response(200, schemas.IncidentOut)
@needs("view")
def show(incident_id: int) -> dict[str, Any]:
    """Return one incident with its notices and proposals."""
    s = db.session()
    return incident_out(s, _incident(s, incident_id))


@blp.post("/<int(max=2147483647):incident_id>/confirm")
@blp.arguments(schemas.ConfirmIn)
@blp.response(200, schemas.ConfirmOut)
@needs("send")
def confirm(body: dict[str, Any], incident_id: int) -> dict[str, Any]:
    """Apply the proposed contact-channel states and send the suggested notice (once)."""
    _incident(db.session(), incident_id)
    done = drafts.confirm(incident_id, who(), body["proposal_id"])
    return done.__dict__


@blp.post("/<int(max=2147483647):incident_id>/dismiss")
@blp.arguments(schemas.ConfirmIn)
@blp.response(200, schemas.ProposalOut)
@needs("send")
def dismiss(body: dict[str, Any], incident_id: int) -> Proposal:
    """Decline the proposal: nothing is sent and no contact channel changes."""
    _incident(db.session(), incident_id)
    return drafts.dismiss(incident_id, who(), body["proposal_id"])
