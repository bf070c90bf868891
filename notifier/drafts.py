"""Draft incidents: what monitoring proposes (contact-channel states and a notice) until a person confirms.

A draft incident is not public: the banner, the status page, the feeds, CAP and the
Statuspage-compatible API show only incidents with public notices, and a draft has none. Nothing
changes for customers until someone confirms the proposal, which marks the contact channels as
proposed and sends the suggested notice in one step (and at most once, whoever clicks twice).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, contacts, db, dispatch, idempotency, queues
from .clock import utcnow
from .errors import NotifierError
from .models import Incident, Proposal

STATES = ("draft", "open", "closed", "dismissed")


class DraftError(NotifierError):
    """A proposal cannot be confirmed or dismissed as asked."""


@dataclass(frozen=True)
class Suggestion:
    """What to propose: a notice from a template, and the contact channels' states."""

    kind: str  # open | all_clear
    template_key: str
    values: Mapping[str, Any]
    contact_states: Mapping[str, str]
    segments: Sequence[str] = ()
    channels: Sequence[str] | None = None
    reason: str = ""


@dataclass(frozen=True)
class Confirmation:
    """What confirming a proposal did."""

    incident_id: int
    proposal_id: int
    notice_ids: list[int]
    contacts_changed: dict[str, str]
    replayed: bool


def propose(s: Session, incident: Incident, suggestion: Suggestion) -> Proposal:
    """Attach a waiting proposal to an incident (the caller tells the operators)."""
    proposal = Proposal(incident_id=incident.id, kind=suggestion.kind,
                        template_key=suggestion.template_key, values=dict(suggestion.values),
                        contact_states=dict(suggestion.contact_states),
                        segments=list(suggestion.segments),
                        channels=list(suggestion.channels) if suggestion.channels else None,
                        reason=suggestion.reason[:500])
    s.add(proposal)
    s.flush()
    audit.record(s, "proposal.create", f"incident:{incident.id}", who=incident.opened_by,
                 proposal=proposal.id, template=suggestion.template_key,
                 contacts=dict(suggestion.contact_states))
    return proposal


def open_draft(s: Session, title: str, who: str, suggestion: Suggestion) -> Proposal:
    """Open a draft incident that proposes a first notice."""
    incident = Incident(title=title[:200], state="draft", drill=False, opened_by=who)
    s.add(incident)
    s.flush()
    audit.record(s, "incident.draft", f"incident:{incident.id}", who=who, title=title[:200])
    return propose(s, incident, suggestion)


def waiting(s: Session, incident_id: int | None = None) -> list[Proposal]:
    """Return the proposals nobody has decided on yet, oldest first."""
    q = select(Proposal).where(Proposal.state == "waiting").order_by(Proposal.id)
    if incident_id is not None:
        q = q.where(Proposal.incident_id == incident_id)
    return list(s.scalars(q))


def _pick(s: Session, incident_id: int, proposal_id: int | None) -> Proposal:
    q = select(Proposal).where(Proposal.incident_id == incident_id).order_by(Proposal.id.desc())
    if proposal_id is not None:
        q = q.where(Proposal.id == proposal_id)
    found = list(s.scalars(q))
    live = [p for p in found if p.state == "waiting"] or found
    if not live:
        raise DraftError(f"Incident {incident_id} has no proposal to confirm: send a notice "
                         "from the console's Send page instead.")
    return live[0]


def request_of(proposal: Proposal) -> dispatch.NoticeRequest:
    """Return the notice a proposal suggests, as the console would ask for it."""
    return dispatch.NoticeRequest(proposal.template_key, dict(proposal.values),
                                  proposal.channels, list(proposal.segments),
                                  incident_id=proposal.incident_id)


def _apply(s: Session, proposal: Proposal) -> dict[str, str]:
    """Set the proposed contact-channel states; return those that changed."""
    changed = {}
    for key, state in sorted(proposal.contact_states.items()):
        before = contacts.find(s, key).state
        contacts.set_state(s, key, str(state))
        if before != state:
            changed[key] = str(state)
    return changed


def confirm(incident_id: int, who: str, proposal_id: int | None = None) -> Confirmation:
    """Apply the proposed contact-channel states and send the suggested notice, once."""
    with db.transaction() as s:
        proposal = _pick(s, incident_id, proposal_id)
        pid = proposal.id
        if proposal.state == "dismissed":
            raise DraftError(f"Proposal {pid} was dismissed by {proposal.decided_by}: send a "
                             "notice from the console's Send page instead.")
        if proposal.state == "sent":
            return Confirmation(incident_id, pid, [proposal.notice_id or 0], {}, True)
        incident = s.get(Incident, incident_id)
        assert incident is not None
        if incident.state not in ("draft", "open"):
            raise DraftError(f"Incident {incident_id} is {incident.state}: nothing to confirm.")
        changed = _apply(s, proposal)
        if incident.state == "draft":
            incident.state = "open"
            audit.record(s, "incident.confirm", f"incident:{incident_id}", who=who, proposal=pid)
        req = request_of(proposal)
        dispatch.prepare(s, req)  # a refusal rolls the contact states back too
    key = idempotency.Key("api", f"proposal:{pid}", idempotency.fingerprint("proposal", pid))
    confirmed = dispatch.confirm_idempotently(req, who, key)
    with db.transaction() as s:
        row = s.get(Proposal, pid)
        assert row is not None
        row.state, row.decided_at, row.decided_by = "sent", utcnow(), who
        row.notice_id = confirmed.notices[0].id
    queues.publish_banner_soon()
    return Confirmation(incident_id, pid, [n.id for n in confirmed.notices], changed,
                        confirmed.replayed)


def dismiss(incident_id: int, who: str, proposal_id: int | None = None) -> Proposal:
    """Decline a proposal; a draft incident with nothing left to decide is dismissed too."""
    with db.transaction() as s:
        proposal = _pick(s, incident_id, proposal_id)
        if proposal.state != "waiting":
            raise DraftError(f"Proposal {proposal.id} is {proposal.state} already.")
        proposal.state, proposal.decided_at, proposal.decided_by = "dismissed", utcnow(), who
        incident = s.get(Incident, incident_id)
        if incident is not None and incident.state == "draft" and not [
                p for p in waiting(s, incident_id) if p.id != proposal.id]:
            incident.state = "dismissed"
        audit.record(s, "proposal.dismiss", f"incident:{incident_id}", who=who,
                     proposal=proposal.id)
        return proposal
